// `glutescope demo` end to end: the simulated wearable streams over a pseudo-terminal into the recorder,
// the session file holds exactly what the simulator generated, and the per-rep verdicts and the report
// come out. The expected sample counts come from running the simulator in-process with the demo's
// documented settings (seed 7, bridge), not from the demo's own output.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "recorder/e2e_support.hpp"
#include "simulator/session.hpp"
#include "simulator/settings.hpp"
#include "store/session_reader.hpp"
#include "support/files.hpp"

namespace glutescope {
namespace {

using test::slurp;

TEST(Demo, RecordsTheSimulatedSetAndPrintsOneVerdictPerRep) {
  const auto dir = test::make_temp_dir("demo");
  const int reps = 4;
  const auto [status, out] = test::run_glutescope(
      {"demo", "--out-dir", (dir / "out").string(), "--speed", "20", "--reps", std::to_string(reps)},
      dir / "log.txt");
  ASSERT_EQ(status, 0) << out;

  sim::SimulatorSettings settings;
  settings.seed = 7;
  settings.reps = reps;
  settings.exercise = Exercise::bridge;
  settings.mvc_trials = true;
  const sim::SimulatedSession truth = sim::simulate(settings);

  // Every generated sample arrived and was stored.
  store::SessionReader reader(dir / "out" / "session.h5");
  EXPECT_EQ(reader.info().status, "complete");
  EXPECT_EQ(reader.emg_rows(), truth.truth.emg_samples);
  EXPECT_TRUE(reader.gaps().empty());
  EXPECT_NE(out.find(" 0 lost, 0 duplicate"), std::string::npos) << out;

  // One verdict line per repetition, numbered 1..reps, and no more.
  const std::regex rep_line(R"(set \d+ rep +(\d+) \(bridge\): \S)");
  std::vector<int> seen;
  for (std::sregex_iterator it(out.begin(), out.end(), rep_line), end; it != end; ++it) {
    seen.push_back(std::stoi((*it)[1].str()));
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(reps)) << out;
  for (int i = 0; i < reps; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i + 1);

  // The simulated subject does the exercise well (scenario `good`, with MVC trials): the glutes fire.
  EXPECT_NE(out.find("glutes fired"), std::string::npos) << out;
  EXPECT_EQ(out.find("back did the work"), std::string::npos) << out;

  // The report's path is printed and the file is a self-contained HTML page with plots.
  EXPECT_NE(out.find("report:"), std::string::npos);
  const std::string html = slurp(dir / "out" / "report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Demo, MisuseGivesOneLineAndNonZeroStatus) {
  const auto dir = test::make_temp_dir("demo_misuse");
  const auto [status, out] = test::run_glutescope({"demo", "--speed", "0"}, dir / "log.txt");
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("--speed"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace glutescope
