// Simulator → pty → recorder → analysis, all through the real glutescope binary: a session simulated with
// MVC trials must come out of `glutescope analyze` with MVC normalisation (not the µV fallback) and exactly
// one bridge set with the simulated number of reps. The device's SET_START/SET_STOP events are the only
// set markers (no operator), so this checks that they reach the analysis intact.
//
// The wearable runs at 4x real time on purpose: session event times are host seconds since the session
// start, and the analysis must map them onto the sample clock through the stored clock fit
// (src/pipeline/stream_clock.hpp); without that mapping the sets land in the wrong place and no rep is found.
#include <gtest/gtest.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "e2e_support.hpp"

namespace glutescope::test {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The analysis sidecar's root attributes and its sets' exercise codes, read with h5py (independent of the
// C++ reader).
nlohmann::json sidecar_summary(const std::string& path, const std::filesystem::path& dir) {
  const auto script = dir / "sidecar.py";
  std::ofstream(script)
      << "import h5py, json, sys\n"
         "f = h5py.File(sys.argv[1], 'r')\n"
         "a = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}\n"
         "sets = [int(x) for x in f['sets/exercise'][()]] if 'sets/exercise' in f else None\n"
         "norm = [x.decode() if isinstance(x, bytes) else str(x)\n"
         "        for x in f['sets/normalisation'][()]] if 'sets/normalisation' in f else None\n"
         "print(json.dumps({'attrs': a, 'set_exercises': sets, 'set_normalisation': norm}))\n";
  const std::string command = std::string(GLUTESCOPE_SYSTEM_PYTHON) + " " + script.string() + " " + path;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("cannot run python");
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  return nlohmann::json::parse(out);
}

TEST(AnalyzeE2E, SimulatedMvcSessionRecordedOverAPtyIsNormalisedToMvcWithOneBridgeSet) {
  const auto dir = make_temp_dir("analyze_mvc");
  const int reps = 3;
  Glutescope simulator({"simulate", "--pty", "--mvc", "--seed", "23", "--reps", std::to_string(reps),
                        "--speed", "4", "--truth", (dir / "truth.json").string()},
                       dir / "sim.txt");
  std::string pty;
  for (int i = 0; i < 3000 && pty.empty(); ++i) {  // up to 30 s: slow sanitizer builds
    const std::string out = simulator.output();
    if (const auto at = out.find("pty: ");
        at != std::string::npos && out.find('\n', at) != std::string::npos) {
      pty = out.substr(at + 5, out.find('\n', at) - at - 5);
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_FALSE(pty.empty()) << simulator.output();
  const auto session = dir / "s.h5";
  Glutescope rec({"record", "--port", pty, "--subject", "S020", "--out", session.string()}, dir / "rec.txt");
  ASSERT_EQ(simulator.wait(150s), 0) << simulator.output();  // exits once the recorder has read every byte
  rec.signal(SIGINT);
  ASSERT_EQ(rec.wait(), 0) << rec.output();

  // Truth from the simulator's own file: five MVC trials (one per muscle) and `reps` complete reps.
  const auto truth = nlohmann::json::parse(read_text(dir / "truth.json"));
  ASSERT_EQ(truth["mvc_trials"].size(), 5u);
  ASSERT_EQ(truth["reps"].size(), static_cast<std::size_t>(reps));

  const auto [status, out] = run_glutescope({"analyze", session.string(), "--json"}, dir / "analyze.txt");
  ASSERT_EQ(status, 0) << out;
  nlohmann::json result;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {  // one JSON object per file
    if (!line.empty() && line.front() == '{') result = nlohmann::json::parse(line);
  }
  ASSERT_TRUE(result.is_object()) << out;
  ASSERT_TRUE(result["ok"].get<bool>()) << out;
  EXPECT_EQ(result["sets"].get<int>(), 1) << out;  // the bridge set; MVC trials are not exercise sets
  EXPECT_EQ(result["reps"].get<int>(), reps) << out;

  const auto sidecar = sidecar_summary(result["output"].get<std::string>(), dir);
  // Sidecar 2.x keeps the normalisation per set (docs/SESSION_FORMAT.md, analysis sidecar).
  EXPECT_EQ(sidecar["set_normalisation"], nlohmann::json::array({"mvic"})) << sidecar.dump();
  EXPECT_EQ(sidecar["set_exercises"], nlohmann::json::array({0})) << sidecar.dump();  // 0 = bridge
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace glutescope::test
