// Import of real recordings (datasets/real), export to CSV and BDF+ read back by MNE, HTML report in headless
// Chromium, and the bad-input messages of import.
#include <gtest/gtest.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "analysis/sim_session.hpp"
#include "pipeline/analysis_export.hpp"
#include "pipeline/analysis_report.hpp"
#include "store/import.hpp"
#include "support/files.hpp"

#include <edflib.h>
#include "store/session_reader.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;
const fs::path kReal = fs::path(GLUTESCOPE_SOURCE_DIR) / "datasets" / "real";

fs::path temp_dir(const std::string& name) { return test::make_temp_dir("import-" + name); }
using test::slurp;

// Independent parse of the CSV text: header, then rows of numbers.
std::vector<std::vector<double>> parse_rows(const fs::path& p, char delim, bool skip_header) {
  std::ifstream in(p);
  std::string line;
  std::vector<std::vector<double>> rows;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (first && skip_header) {
      first = false;
      continue;
    }
    std::vector<double> row;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, delim)) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

TEST(Import, ElderlyCsvKeepsValuesRateAndMapping) {
  const fs::path dir = temp_dir("elderly");
  store::ImportOptions o;
  o.input = kReal / "ID_1_EMG_VL_first_0.5s.csv";
  o.montage = kReal / "elderly_vl.montage.toml";
  o.rate_hz = 2000.0;
  o.subject_id = "ID_1";
  o.out = dir / "vl.h5";
  const auto summary = store::import_csv(o);
  EXPECT_EQ(summary.channels, 4u);
  store::SessionReader reader(o.out);
  EXPECT_EQ(reader.device().emg_rate_hz, 2000.0);
  const Montage m = reader.montage();
  ASSERT_EQ(m.emg.size(), 4u);
  EXPECT_EQ(m.emg[0].label, "VL");
  EXPECT_EQ(m.emg[1].label, "BF");
  EXPECT_EQ(m.emg[1].muscle, Muscle::biceps_femoris);
  const auto rows = parse_rows(o.input, ',', true);
  ASSERT_EQ(rows.size(), 1000u);
  ASSERT_EQ(reader.emg_rows(), 1000u);
  const auto uv = reader.emg_microvolts();
  // Values kept to the resolution chosen per column (10^-d µV, here d = 6 since 8 decimals overflow int32).
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < 4; ++c) {
      ASSERT_NEAR(uv[r * 4 + c], rows[r][c], 0.5 * m.emg[c].microvolts_per_count + 1e-12) << r << "," << c;
    }
  }
  EXPECT_LE(m.emg[0].microvolts_per_count, 1e-5);
  fs::remove_all(dir);
}

TEST(Import, BiosppyCountsAreExactAndTimeColumnGivesTheRate) {
  const fs::path dir = temp_dir("biosppy");
  store::ImportOptions o;
  o.input = kReal / "biosppy_emg_1_1.0-2.5s.txt";
  o.montage = kReal / "biosppy_emg.montage.toml";
  o.rate_hz = 1000.0;
  o.subject_id = "B1";
  o.out = dir / "b.h5";
  store::import_csv(o);
  store::SessionReader reader(o.out);
  const auto rows = parse_rows(o.input, ',', false);
  const auto counts = reader.emg_counts();
  ASSERT_EQ(counts.size(), rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) ASSERT_EQ(counts[r], static_cast<std::int32_t>(rows[r][0]));

  // A time column (ms → s written by hand here) at 500 Hz.
  {
    std::ofstream csv(dir / "t.csv");
    csv << "t,EMG\n";
    for (int i = 0; i < 50; ++i) csv << i * 0.002 << "," << i % 7 << "\n";
  }
  {
    std::ofstream mt(dir / "m.toml");
    mt << "[[emg]]\ncolumn = \"EMG\"\nmuscle = \"gluteus_maximus\"\nside = \"left\"\n";
  }
  store::ImportOptions t = o;
  t.input = dir / "t.csv";
  t.montage = dir / "m.toml";
  t.rate_hz.reset();
  t.time_column = "t";
  t.out = dir / "t.h5";
  EXPECT_NEAR(store::import_csv(t).rate_hz, 500.0, 1e-9);
  EXPECT_EQ(store::SessionReader(t.out).montage().emg[0].side, Side::left);

  // Bad input: a montage column that does not exist; nothing is left behind.
  {
    std::ofstream mt(dir / "bad.toml");
    mt << "[[emg]]\ncolumn = \"GMAX\"\n";
  }
  t.montage = dir / "bad.toml";
  t.out = dir / "bad.h5";
  try {
    store::import_csv(t);
    FAIL();
  } catch (const store::ImportError& e) {
    EXPECT_NE(std::string(e.what()).find("montage column 'GMAX' does not exist in"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "bad.h5"));
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Export, BdfReadBackByMneAndCsvValues) {
  const fs::path dir = temp_dir("export");
  sim::SimulatorSettings s;
  s.reps = 3;
  test::write_simulated_session(dir / "s.h5", s);
  pipeline::export_session(dir / "s.h5", pipeline::ExportFormat::bdf, dir / "s.bdf");
  const std::string cmd = fmt::format(
      "{} {}/tests/analysis/check_bdf.py {} {} > {} 2>&1", GLUTESCOPE_SYSTEM_PYTHON, GLUTESCOPE_SOURCE_DIR,
      (dir / "s.bdf").string(), (dir / "s.h5").string(), (dir / "mne.txt").string());
  EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir / "mne.txt");
  EXPECT_NE(slurp(dir / "mne.txt").find("set 1 rep 1"), std::string::npos) << slurp(dir / "mne.txt");

  pipeline::export_session(dir / "s.h5", pipeline::ExportFormat::csv, dir / "s.csv");
  std::ifstream csv(dir / "s.csv");
  std::string header, row;
  std::getline(csv, header);
  EXPECT_EQ(header.substr(0, 17), "time_s,GMax_L_uV,");
  EXPECT_NE(header.find("GMax_L_envelope_uV"), std::string::npos);
  store::SessionReader reader(dir / "s.h5");
  const auto uv = reader.emg_microvolts(0, 10);
  for (int r = 0; r < 10; ++r) {
    std::getline(csv, row);
    std::stringstream ss(row);
    std::string cell;
    std::getline(ss, cell, ',');
    EXPECT_DOUBLE_EQ(std::stod(cell), r / 2000.0);
    for (std::size_t c = 0; c < reader.emg_channels(); ++c) {
      std::getline(ss, cell, ',');
      EXPECT_NEAR(std::stod(cell), uv[static_cast<std::size_t>(r) * reader.emg_channels() + c], 1e-9);
    }
  }
  fs::remove_all(dir);
}

TEST(Import, BdfExportImportsBackWithLabelsRateAndValues) {
  // EDF/BDF import through EDFlib, checked on a file EDFlib did not write itself the other way round: the
  // session's own BDF+ export (already verified with MNE above) is imported and compared with the source.
  const fs::path dir = temp_dir("bdf_roundtrip");
  sim::SimulatorSettings s;
  s.reps = 2;
  test::write_simulated_session(dir / "s.h5", s);
  pipeline::export_session(dir / "s.h5", pipeline::ExportFormat::bdf, dir / "s.bdf");
  store::ImportOptions o;
  o.input = dir / "s.bdf";
  o.subject_id = "RT01";
  o.out = dir / "back.h5";
  const store::ImportSummary summary = store::import_edf(o);

  store::SessionReader source(dir / "s.h5");
  store::SessionReader back(dir / "back.h5");
  EXPECT_EQ(summary.channels, source.emg_channels());
  EXPECT_DOUBLE_EQ(summary.rate_hz, source.device().emg_rate_hz);
  ASSERT_EQ(back.emg_channels(), source.emg_channels());
  // BDF holds whole 1-s data records: the import may end on the last full record, never invent samples.
  ASSERT_LE(back.emg_rows(), source.emg_rows());
  ASSERT_GE(back.emg_rows() + static_cast<std::uint64_t>(source.device().emg_rate_hz), source.emg_rows());
  for (std::size_t c = 0; c < source.emg_channels(); ++c) {
    EXPECT_EQ(back.montage().emg[c].label, source.montage().emg[c].label) << c;
  }
  const auto a = source.emg_microvolts(0, back.emg_rows());
  const auto b = back.emg_microvolts(0, back.emg_rows());
  ASSERT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  // Within one quantisation step of the BDF file, read from its own header (physical range / digital range).
  edf_hdr_struct hdr{};
  ASSERT_EQ(edfopen_file_readonly((dir / "s.bdf").c_str(), &hdr, EDFLIB_DO_NOT_READ_ANNOTATIONS), 0);
  double step_uv = 0.0;
  for (int c = 0; c < hdr.edfsignals; ++c) {
    const auto& p = hdr.signalparam[c];
    const double scale = std::string(p.physdimension).find("mV") == 0 ? 1000.0 : 1.0;  // µV per unit
    step_uv =
        std::max(step_uv, scale * (p.phys_max - p.phys_min) / static_cast<double>(p.dig_max - p.dig_min));
  }
  edfclose_file(hdr.handle);
  ASSERT_GT(step_uv, 0.0);
  EXPECT_LE(worst, step_uv * 1.0000001)
      << "worst |difference| " << worst << " µV, BDF step " << step_uv << " µV";
  fs::remove_all(dir);
}

TEST(Report, HtmlRendersInHeadlessChromiumWithOneRowPerRep) {
  const fs::path dir = temp_dir("html");
  sim::SimulatorSettings s;
  s.reps = 5;
  s.mvc_trials = true;
  test::write_simulated_session(dir / "s.h5", s);
  std::ostringstream text;
  const auto r = pipeline::print_session_report(dir / "s.h5", text, dir / "report.html");
  ASSERT_EQ(r.rep_count(), 5u);
  const std::string html = slurp(dir / "report.html");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  const std::string cmd = fmt::format(
      "chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
      "--disable-component-update "
      "--disable-sync --no-first-run --user-data-dir={} --dump-dom file://{} > {} 2>/dev/null",
      (dir / "profile").string(), (dir / "report.html").string(), (dir / "dom.html").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string dom = slurp(dir / "dom.html");
  std::size_t rows = 0;
  for (std::size_t p = dom.find("class=\"verdict-row"); p != std::string::npos;
       p = dom.find("class=\"verdict-row", p + 1))
    ++rows;
  EXPECT_EQ(rows, 5u);
  EXPECT_NE(dom.find("class=\"envelope-plot\""), std::string::npos);
  EXPECT_NE(dom.find("class=\"ratio-plot\""), std::string::npos);
  EXPECT_NE(dom.find("<polyline"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glutescope
