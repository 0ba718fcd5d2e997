// One spelling per concept across subcommands, with the real binary: --config FILE for analysis settings
// (analyze, record, report, validate, config), -j/--jobs where work runs in parallel, input flags that read
// (import --from-csv/--from-edf) and output flags that write (export --to-csv/--to-bdf), the old spellings
// still accepted but hidden from --help; report --config re-analyses, and a stale sidecar is reported in
// one line and replaced with the settings it was made with.
#include <gtest/gtest.h>

#include <fstream>

#include "analysis/sim_session.hpp"
#include "pipeline/analysis_file.hpp"
#include "store/hdf5_handle.hpp"
#include "support/cli.hpp"
#include "support/files.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;
using test::run_glutescope;

constexpr const char* kDataset = GLUTESCOPE_SOURCE_DIR "/datasets/real";

sim::SimulatorSettings bridge(std::uint64_t seed) {
  sim::SimulatorSettings s;
  s.exercise = Exercise::bridge;
  s.reps = 3;
  s.seed = seed;
  return s;
}

// The default settings with the onset threshold changed: a value no default run has.
std::string k_sd_settings(const test::TempDir& dir, const std::string& value) {
  const auto defaults = run_glutescope({"config", "--print-defaults"}, dir / "defaults.log");
  EXPECT_EQ(defaults.exit_status, 0) << defaults.output;
  std::string text = defaults.output;
  const std::size_t at = text.find("\nk_sd = ");
  EXPECT_NE(at, std::string::npos) << text;
  text.replace(at + 1, text.find('\n', at + 1) - at - 1, "k_sd = " + value);
  return text;
}

std::size_t lines_with(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(CliSpellings, ConfigFileIsConfigEverywhereAndOldSpellingsAreHiddenAliases) {
  test::TempDir dir("cli-config");
  { std::ofstream(dir / "bad.toml") << "[onset]\nk_sd = 100\n"; }
  const std::string bad = (dir / "bad.toml").string();
  const std::string expected = bad + ": onset.k_sd = 100";
  const std::vector<std::vector<std::string>> commands{
      {"config", "--config", bad},
      {"config", "--check", bad},  // old spelling
      {"validate", "--config", bad, "--seeds", "1", "--snr", "30", "--reps", "1"},
      {"validate", "--settings", bad, "--seeds", "1", "--snr", "30", "--reps", "1"},  // old spelling
      {"analyze", "--config", bad, (dir / "none.h5").string()},
      {"report", "--config", bad, (dir / "none.h5").string()},
  };
  for (const auto& args : commands) {
    const auto run = run_glutescope(args, dir / "run.log");
    EXPECT_EQ(run.exit_status, 1) << args[0] << " " << args[1] << "\n" << run.output;
    EXPECT_NE(run.output.find(expected), std::string::npos) << args[0] << " " << args[1] << "\n"
                                                            << run.output;
  }
  const auto help_config = run_glutescope({"config", "--help"}, dir / "help.log").output;
  EXPECT_NE(help_config.find("--config"), std::string::npos) << help_config;
  EXPECT_EQ(help_config.find("--check"), std::string::npos) << help_config;
  const auto help_validate = run_glutescope({"validate", "--help"}, dir / "help.log").output;
  EXPECT_NE(help_validate.find("-j,--jobs"), std::string::npos) << help_validate;
  EXPECT_EQ(help_validate.find("--settings"), std::string::npos) << help_validate;
  const auto help_record = run_glutescope({"record", "--help"}, dir / "help.log").output;
  EXPECT_NE(help_record.find("glutescope wearable, an OpenBCI Cyton, a BITalino or a Delsys Trigno"),
            std::string::npos)
      << help_record;
  const auto both = run_glutescope({"validate", "--config", bad, "--settings", bad}, dir / "both.log");
  EXPECT_NE(both.exit_status, 0) << both.output;
}

TEST(CliSpellings, ValidateRunsInParallelWithJobs) {
  test::TempDir dir("cli-jobs");
  const std::vector<std::string> grid{"validate", "--seeds", "1",        "--snr", "30",
                                      "--reps",   "2",       "--no-mvc", "--json"};
  auto one = grid, two = grid;
  one.insert(one.end(), {"--jobs", "1"});
  two.insert(two.end(), {"-j", "2"});
  const auto a = run_glutescope(one, dir / "one.log", RLIM_INFINITY, std::chrono::seconds(300));
  const auto b = run_glutescope(two, dir / "two.log", RLIM_INFINITY, std::chrono::seconds(300));
  ASSERT_EQ(a.exit_status, 0) << a.output;
  ASSERT_EQ(b.exit_status, 0) << b.output;
  EXPECT_EQ(a.output, b.output) << "validate must be deterministic whatever --jobs";
}

TEST(CliSpellings, ImportReadsFromAndExportWritesTo) {
  test::TempDir dir("cli-io");
  const std::string csv = std::string(kDataset) + "/ID_1_EMG_VL_first_0.5s.csv";
  const std::string montage = std::string(kDataset) + "/elderly_vl.montage.toml";
  const auto imported = run_glutescope({"import", "--from-csv", csv, "--montage", montage, "--rate", "2000",
                                        "--subject", "ID_1", "--out", (dir / "a.h5").string()},
                                       dir / "import.log");
  ASSERT_EQ(imported.exit_status, 0) << imported.output;
  const auto old = run_glutescope({"import", "--csv", csv, "--montage", montage, "--rate", "2000",
                                   "--subject", "ID_1", "--out", (dir / "b.h5").string()},
                                  dir / "import-old.log");
  ASSERT_EQ(old.exit_status, 0) << old.output;
  const auto exported = run_glutescope(
      {"export", (dir / "a.h5").string(), "--to-csv", (dir / "a.csv").string()}, dir / "e.log");
  ASSERT_EQ(exported.exit_status, 0) << exported.output;
  const auto exported_old =
      run_glutescope({"export", (dir / "b.h5").string(), "--csv", (dir / "b.csv").string()}, dir / "e2.log");
  ASSERT_EQ(exported_old.exit_status, 0) << exported_old.output;
  const std::string a = test::slurp(dir / "a.csv");
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a, test::slurp(dir / "b.csv")) << "the old spellings must do exactly what the new ones do";
  const auto help = run_glutescope({"export", "--help"}, dir / "help.log").output;
  EXPECT_NE(help.find("--to-csv"), std::string::npos) << help;
  EXPECT_EQ(help.find("--csv"), std::string::npos) << help;
  const auto import_help = run_glutescope({"import", "--help"}, dir / "help.log").output;
  EXPECT_NE(import_help.find("--from-edf"), std::string::npos) << import_help;
  EXPECT_EQ(import_help.find(" --edf"), std::string::npos) << import_help;
}

TEST(CliSpellings, ReportConfigReanalysesAndAStaleSidecarKeepsItsSettings) {
  test::TempDir dir("cli-report");
  const fs::path a = dir / "a.h5", b = dir / "b.h5";
  test::write_simulated_session(a, bridge(1));
  test::write_simulated_session(b, bridge(2));
  { std::ofstream(dir / "k4.toml") << k_sd_settings(dir, "4.25"); }

  // report --config analyses with those settings and leaves them in the sidecar.
  const auto first =
      run_glutescope({"report", a.string(), "--config", (dir / "k4.toml").string()}, dir / "1.log");
  ASSERT_EQ(first.exit_status, 0) << first.output;
  EXPECT_EQ(first.output.find("note:"), std::string::npos) << first.output;
  EXPECT_NE(pipeline::read_analysis_file(dir / "a.analysis.h5").settings_toml.find("k_sd = 4.25"),
            std::string::npos);

  // A's sidecar beside B is stale (other raw data): one note line, then B analysed with k_sd = 4.25.
  fs::copy_file(dir / "a.analysis.h5", dir / "b.analysis.h5");
  const auto stale = run_glutescope({"report", b.string()}, dir / "2.log");
  ASSERT_EQ(stale.exit_status, 0) << stale.output;
  EXPECT_EQ(lines_with(stale.output, "note:"), 1u) << stale.output;
  EXPECT_NE(
      stale.output.find("note: b.analysis.h5 is stale (made from other raw data); re-analysing with the "
                        "settings it was made with\n"),
      std::string::npos)
      << stale.output;
  const auto replaced = pipeline::read_analysis_file(dir / "b.analysis.h5");
  EXPECT_NE(replaced.settings_toml.find("k_sd = 4.25"), std::string::npos)
      << "replaced with default settings";
  EXPECT_EQ(replaced.input_hash, pipeline::load_session(b).input_hash);
  // Now current: used as is, no note.
  const auto again = run_glutescope({"report", b.string()}, dir / "3.log");
  EXPECT_EQ(again.exit_status, 0) << again.output;
  EXPECT_EQ(again.output.find("note:"), std::string::npos) << again.output;

  // A stale sidecar whose settings cannot be parsed is an error naming the file, never the defaults.
  {
    fs::copy_file(dir / "a.analysis.h5", dir / "b.analysis.h5", fs::copy_options::overwrite_existing);
    const store::Hdf5Where w{(dir / "b.analysis.h5").string(), "/"};
    store::FileHandle f(store::checked(H5Fopen(w.file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "open", w));
    store::write_string_attribute(f.get(), "settings_toml", "[onset]\nk_sd = \"four\"\n", w);
  }
  const auto broken = run_glutescope({"report", b.string()}, dir / "4.log");
  EXPECT_EQ(broken.exit_status, 1) << broken.output;
  EXPECT_NE(broken.output.find((dir / "b.analysis.h5").string() + " (settings_toml)"), std::string::npos)
      << broken.output;
  EXPECT_NE(broken.output.find("onset.k_sd"), std::string::npos) << broken.output;
}

}  // namespace
}  // namespace glutescope
