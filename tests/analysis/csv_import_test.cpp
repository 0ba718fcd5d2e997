// CSV import that loses nothing (issue 11): values in scientific notation keep every printed digit, checked
// against Python's float() of each cell and h5py; malformed files and absurd rates are one line naming
// the file and line, a failed import leaves nothing behind.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include <fmt/core.h>

#include <edflib.h>

#include "store/csv_table.hpp"
#include "store/import.hpp"
#include "support/files.hpp"

namespace glutescope::store {
namespace {

namespace fs = std::filesystem;

struct CsvImport : ::testing::Test {
  fs::path dir = test::make_temp_dir(std::string("gs-csv") + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void TearDown() override { fs::remove_all(dir); }

  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
  }
  ImportOptions options(const fs::path& csv, const std::string& montage_toml) {
    ImportOptions o;
    o.input = csv;
    o.montage = write("m.toml", montage_toml);
    o.rate_hz = 1000.0;
    o.subject_id = "S";
    o.out = dir / "out.h5";
    return o;
  }
  // The message of the ImportError import_csv throws; the output and its temporary must not exist.
  std::string error_of(const ImportOptions& o, bool edf = false) {
    std::string what = "no error";
    try {
      edf ? import_edf(o) : import_csv(o);
    } catch (const ImportError& e) {
      what = e.what();
    }
    EXPECT_FALSE(fs::exists(o.out));
    for (const auto& entry : fs::directory_iterator(dir)) {
      EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
    }
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_LE(what.size(), 200u) << what;
    return what;
  }
  int check_with_python(const fs::path& csv, const std::string& specs) {
    const std::string cmd = fmt::format("{} {}/tests/analysis/check_csv_import.py {} {} {} > {} 2>&1",
                                        GLUTESCOPE_SYSTEM_PYTHON, GLUTESCOPE_SOURCE_DIR, csv.string(),
                                        (dir / "out.h5").string(), specs, (dir / "py.txt").string());
    const int status = std::system(cmd.c_str());
    std::cout << test::slurp(dir / "py.txt");
    return status;
  }
};

const char* kTwoColumns = "[[emg]]\ncolumn = \"VL\"\nunit = \"V\"\n[[emg]]\ncolumn = \"RF\"\nunit = \"uV\"\n";

// Volts written with %.3e used to import as 0 µV everywhere and %.6e was quantised to 1 µV: now every
// printed digit down to 1 pV (DeviceInfoLimits' finest scale) is kept, the finest printed digit setting
// the resolution. Digits below 1 pV (µV near zero written with %.6E) are rounded to 1 pV and reported.
TEST_F(CsvImport, ScientificNotationKeepsEveryPrintedDigit) {
  std::mt19937 rng(7);
  std::normal_distribution<double> volts(0.0, 1e-4), microvolts(0.0, 40.0);
  std::uniform_real_distribution<double> magnitude(1e-6, 9e-4);
  std::string text = "time,VL,GM,RF\n";
  for (int i = 0; i < 2000; ++i) {
    text += fmt::format("{:.4f},{:.3e},{:.6e},{:.6E}\n", i * 1e-3, volts(rng),
                        (i % 2 ? -1 : 1) * magnitude(rng), microvolts(rng));
  }
  text += "2.0000,+1.5e-3,-1.000000e-06,-0.000000E+00\n";  // explicit '+', a signed zero
  const auto o =
      options(write("sci.csv", text), std::string(kTwoColumns) + "[[emg]]\ncolumn = \"GM\"\nunit = \"V\"\n");
  const auto summary = import_csv(o);
  EXPECT_EQ(summary.samples, 2001u);
  ASSERT_EQ(summary.notes.size(), 1u);
  EXPECT_EQ(summary.notes[0].rfind("column 'RF': ", 0), 0u) << summary.notes[0];
  EXPECT_NE(summary.notes[0].find("rounded to 1e-06 uV per count (largest error 5e-07 uV)"),
            std::string::npos)
      << summary.notes[0];
  EXPECT_EQ(check_with_python(o.input, "VL=V:exact RF=uV:rounded GM=V:exact"), 0);
}

// A column whose range does not fit int32 at its finest printed digit: rounded at the finest resolution
// that fits (never 1 µV), and the import says how many values and by how much.
TEST_F(CsvImport, AColumnThatCannotBeExactIsRoundedFinelyAndSaysSo) {
  std::string text = "VL,RF\n";
  for (int i = 0; i < 100; ++i)
    text += fmt::format("{:.6e},1.5\n", (i == 3 ? 2e-2 : 1e-6) * std::sin(i + 0.5));
  const auto o = options(write("wide.csv", text), kTwoColumns);
  const auto summary = import_csv(o);
  ASSERT_EQ(summary.notes.size(), 1u);
  EXPECT_NE(summary.notes[0].find("column 'VL':"), std::string::npos) << summary.notes[0];
  EXPECT_NE(summary.notes[0].find("values rounded to 1e-05 uV per count"), std::string::npos)
      << summary.notes[0];
  EXPECT_EQ(check_with_python(o.input, "VL=V:rounded RF=uV:exact"), 0);
}

TEST_F(CsvImport, EachMalformedFileIsOneLineNamingFileAndLine) {
  const std::string m = "[[emg]]\ncolumn = \"VL\"\n";
  auto error_for = [&](const std::string& text) {
    const fs::path csv = write("bad.csv", text);
    const std::string e = error_of(options(csv, m));
    EXPECT_EQ(e.rfind(csv.string(), 0), 0u) << e;  // starts with the file name
    return e.substr(csv.string().size());
  };
  EXPECT_EQ(error_for(""), ": empty (no header, no data rows)");
  EXPECT_EQ(error_for("VL\n"), ":1: a header and no data rows");
  EXPECT_EQ(error_for("# comment\nVL,RF\n\n"), ":2: a header and no data rows");
  EXPECT_EQ(error_for("VL,RF\n1,2\n3\n"), ":3: row has 1 cells, the header 2");
  EXPECT_EQ(error_for("VL,RF\n1,2\n3,4,5\n"), ":3: row has 3 cells, the header 2");
  EXPECT_EQ(error_for("VL,RF\n1,2\n\n3,4\n"), ":3: blank line between data rows (a damaged or joined file?)");
  EXPECT_EQ(error_for("VL\n0.001xyz\n"), ":2: column 'VL': '0.001xyz' is not a finite number");
  EXPECT_EQ(error_for("VL\nnan\n"), ":2: column 'VL': 'nan' is not a finite number");
  EXPECT_EQ(error_for("VL\n1e400\n"), ":2: column 'VL': '1e400' is not a finite number");
  EXPECT_EQ(error_for("RF,VL\n1,\n"), ":2: column 'VL': '' is not a finite number");
  EXPECT_EQ(error_for("VL,RF\n1,2\n" + std::string(1'000'000, ',') + "\n"),
            ":3: row has 1000001 cells, the header 2");
  EXPECT_EQ(error_for("VL\n" + std::string(kMaxCsvLineBytes + 1, '1') + "\n"),
            ":2: line longer than 1048576 bytes");
  EXPECT_EQ(error_for(std::string(5000, ',') + "\n"), ":1: 5001 columns, more than 4096");
}

TEST_F(CsvImport, TimeCellsAndRatesOutsideTheirRangesAreRefused) {
  const std::string m = "[[emg]]\ncolumn = \"VL\"\n";
  ImportOptions o = options(write("t.csv", "t,VL\n0,1\n0.001,2\nnan,3\n"), m);
  o.rate_hz.reset();
  o.time_column = "t";
  EXPECT_EQ(error_of(o), o.input.string() + ":4: time 'nan' is not a finite number");
  o.input = write("t.csv", "t,VL\n0,1\n0.001xyz,2\n");
  EXPECT_EQ(error_of(o), o.input.string() + ":3: time '0.001xyz' is not a finite number");
  o.input = write("t.csv", "t,VL\n0,1\n1e-9,2\n2e-9,2\n");
  EXPECT_EQ(error_of(o),
            o.input.string() + ": the rate from time column 't', 1e+09 Hz is outside 1 to 100000 Hz");
  o.input = write("t.csv", "t,VL\n0,1\n0.001,2\n0.003,2\n");
  EXPECT_EQ(error_of(o), o.input.string() + ":3: time column 't' is not uniform (0.001 s): resample first");
  o = options(write("r.csv", "VL\n1\n"), m);
  for (double rate : {1e308, 0.0, -1.0, std::nan(""), 0.5, 1e6}) {
    o.rate_hz = rate;
    EXPECT_EQ(error_of(o), fmt::format("--rate {:g} Hz is outside 1 to 100000 Hz", rate));
  }
}

TEST_F(CsvImport, CountsColumnsTakeIntegersOnly) {
  const auto o =
      options(write("c.csv", "EMG\n12\n-7\n1.5\n"), "[[emg]]\ncolumn = \"EMG\"\nunit = \"counts\"\n");
  EXPECT_EQ(error_of(o), o.input.string() + ":4: column 'EMG' (unit counts): 1.5 is not an int32 count");
}

// The decimal reader against hand-worked values (digits × 10^exponent as printed).
TEST(PrintedDecimal, KeepsDigitsAndExponentAsPrinted) {
  auto p = [](std::string_view s) {
    const auto d = parse_printed_decimal(s);
    return d ? fmt::format("{}e{}{}", d->digits, d->exponent, d->exact ? "" : "~") : std::string("none");
  };
  EXPECT_EQ(p("1.234e-05"), "1234e-8");
  EXPECT_EQ(p("0.50"), "50e-2");
  EXPECT_EQ(p("-0.0012"), "-12e-4");
  EXPECT_EQ(p("+7"), "7e0");
  EXPECT_EQ(p("1200"), "1200e0");
  EXPECT_EQ(p(".5"), "5e-1");
  EXPECT_EQ(p("5."), "5e0");
  EXPECT_EQ(p("0.000"), "0e-3");
  EXPECT_EQ(p("1.5E+03"), "15e2");
  EXPECT_EQ(p("1234567890123456789012"), "123456789012345678e4~");
  EXPECT_EQ(p("000e06703"), "0e0");  // csv_import fuzzer: a zero claims no precision coarser than 1
  EXPECT_EQ(p("0e-7"), "0e-7");
  for (const char* bad : {"", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "inf", "nan", "1,5", " 1", "1 ",
                          "1e5000", "--1", "+-1", "1e+-2"}) {
    EXPECT_EQ(p(bad), "none") << bad;
  }
}

// csv_import fuzzer (tests/fuzz/corpus/csv_import/finding_subnormal_value): a subnormal value (4.21e-318 V)
// made the int32 fit estimate log10(0) = -inf and cast it to int, which is undefined (UBSan). The value is
// below the finest resolution: it is stored as 0 counts at that resolution and counted as rounded.
TEST(CsvCounts, ASubnormalValueRoundsToZeroAtTheFinestResolution) {
  CsvRequest request;
  request.source = "sub.csv";
  request.montage = "sub.toml";
  request.value_columns = {"VL", "RF"};
  request.time_column = "t";
  const CsvTable table = parse_csv_table("t,VL,RF\n0001,42.1e-319,.25\n", request);
  const ChannelCounts vl = to_counts(table, request, 0, false, -6);
  EXPECT_EQ(vl.resolution_exponent, -6);
  EXPECT_EQ(vl.counts, std::vector<std::int32_t>{0});
  EXPECT_EQ(vl.rounded, 1u);
  const ChannelCounts rf = to_counts(table, request, 1, false, -6);
  EXPECT_EQ(rf.resolution_exponent, -2);  // .25 is exact at 10^-2
  EXPECT_EQ(rf.counts, std::vector<std::int32_t>{25});
  EXPECT_EQ(rf.rounded, 0u);
}

// A BDF+ written by EDFlib itself (not by glutescope's export): 2 signals, 3 records of 1 s at 100 Hz.
fs::path write_bdf(const fs::path& path) {
  const int h = edfopen_file_writeonly(path.c_str(), EDFLIB_FILETYPE_BDFPLUS, 2);
  EXPECT_GE(h, 0);
  for (int s = 0; s < 2; ++s) {
    edf_set_samplefrequency(h, s, 100);
    edf_set_physical_maximum(h, s, 8388.607);
    edf_set_physical_minimum(h, s, -8388.608);
    edf_set_digital_maximum(h, s, 8388607);
    edf_set_digital_minimum(h, s, -8388608);
    edf_set_physical_dimension(h, s, "uV");
    edf_set_label(h, s, s == 0 ? "A" : "B");
  }
  std::vector<int> samples(100);
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 2; ++s) {
      for (int i = 0; i < 100; ++i) samples[static_cast<std::size_t>(i)] = (r * 100 + i) * (s + 1);
      edfwrite_digital_samples(h, samples.data());
    }
  }
  edfclose_file(h);
  return path;
}

// Each damaged header field is named (the EDF/BDF specifications' field names, edf_header.hpp); before,
// all of them were "EDFlib error -3".
TEST_F(CsvImport, EdfHeaderDamageNamesTheField) {
  const fs::path good = write_bdf(dir / "good.bdf");
  ImportOptions o;
  o.subject_id = "S";
  o.out = dir / "out.h5";
  o.input = good;
  EXPECT_EQ(import_edf(o).samples, 300u);  // the undamaged file imports
  fs::remove(o.out);
  const std::string bytes = test::slurp(good);
  // 3 signals (2 + the BDF+ annotation signal): label at 256, ..., digital maximum at 256 + 3 × 152.
  auto damaged = [&](std::size_t offset, const std::string& text) {
    std::string b = bytes;
    b.replace(offset, text.size(), text);
    o.input = write("bad.bdf", b);
    std::string e = error_of(o, true);
    return e.substr(std::min(e.size(), o.input.string().size() + 2));
  };
  // Signal fields (3 entries each): label 16, transducer 80, dimension 8, physical min 8, max 8, digital
  // min 8, max 8: physical maximum at 256 + 3 × 112, digital maximum at 256 + 3 × 128.
  EXPECT_EQ(damaged(256 + 3 * 128 + 8, "99999999"),
            "header field 'signal 2 'B' digital maximum' '99999999' is outside -8388608 to 8388607 (BDF)");
  EXPECT_EQ(damaged(256 + 3 * 128, "-9999999"),
            "header field 'signal 1 'A' digital maximum' '-9999999' is outside -8388608 to 8388607 (BDF)");
  EXPECT_EQ(damaged(256 + 3 * 112, bytes.substr(256 + 3 * 104, 8)),
            "header field 'signal 1 'A' physical maximum' '" + bytes.substr(256 + 3 * 104, 8) +
                "' equals the physical minimum");
  EXPECT_EQ(damaged(252, "abcd"), "header field 'number of signals' 'abcd' is not an integer");
  EXPECT_EQ(damaged(184, "999     "),
            "header field 'number of bytes in header record' '999' should be 256 x (3 signals + 1) = 1024");
  EXPECT_EQ(damaged(168, "32.13.99"), "header field 'startdate' '32.13.99' is out of range");
  EXPECT_EQ(damaged(176, "12:00:00"), "header field 'starttime' '12:00:00' is not hh.mm.ss");
  EXPECT_EQ(damaged(244, "0       "), "header field 'duration of a data record' '0' must be > 0 s");
  EXPECT_EQ(damaged(236, "-1      "), "header field 'number of data records' '-1' must be >= 1");
  EXPECT_EQ(damaged(0, "1       "),
            "header field 'version' '1' is neither EDF's '0' nor BDF's 255+'BIOSEMI'");
  const std::string control = damaged(10, std::string("\x07"));
  EXPECT_EQ(control.rfind("header field 'local patient identification' '", 0), 0u) << control;
  EXPECT_NE(control.find("' has a byte that is not printable ASCII"), std::string::npos) << control;
  // Truncated: the records the header states are not all there.
  o.input = write("short.bdf", bytes.substr(0, bytes.size() - 100));
  const std::string e = error_of(o, true);
  EXPECT_NE(e.find("header field 'number of data records' '3' needs "), std::string::npos) << e;
  EXPECT_NE(e.find("(truncated?)"), std::string::npos) << e;
}

}  // namespace
}  // namespace glutescope::store
