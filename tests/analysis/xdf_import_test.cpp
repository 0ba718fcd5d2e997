// XDF import: a simulated session written as an XDF file by the writer below (XDF 1.0 specification,
// https://github.com/sccn/xdf/wiki/Specifications: "XDF:" magic; chunks of a variable-length length field,
// a uint16 tag and the content; tags 1 FileHeader, 2 StreamHeader, 3 Samples, 4 ClockOffset, 5 Boundary,
// 6 StreamFooter), with the accelerometer and marker streams on clocks offset from the recorder's by known
// amounts, imports and analyses like the native session; broken chunks are one line naming the file and the
// chunk, and nothing is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <tuple>
#include <utility>

#include <fmt/core.h>

#include "analysis/import_truth.hpp"
#include "pipeline/analysis.hpp"
#include "simulator/session.hpp"
#include "store/import.hpp"
#include "store/session_reader.hpp"
#include "store/xdf_reader.hpp"
#include "support/cli.hpp"
#include "support/files.hpp"
#include "validation/validation.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;

// Little-endian XDF writer; remembers where each chunk starts (for the broken-file cases).
struct XdfWriter {
  std::string bytes = "XDF:";
  std::vector<std::size_t> chunk_at;  // byte offset of each chunk, in order
  template <typename T>
  static void put(std::string& s, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof v);
    s.append(b, sizeof v);
  }
  // NumLengthBytes + Length, the shortest that holds n (1, 4 or 8 bytes).
  static void varlen(std::string& s, std::uint64_t n) {
    if (n <= 0xFF) {
      put<std::uint8_t>(s, 1), put<std::uint8_t>(s, static_cast<std::uint8_t>(n));
    } else if (n <= 0xFFFFFFFF) {
      put<std::uint8_t>(s, 4), put<std::uint32_t>(s, static_cast<std::uint32_t>(n));
    } else {
      put<std::uint8_t>(s, 8), put<std::uint64_t>(s, n);
    }
  }
  void chunk(std::uint16_t tag, const std::string& content) {
    chunk_at.push_back(bytes.size());
    varlen(bytes, content.size() + 2);
    put(bytes, tag);
    bytes += content;
  }
  static std::string id(std::uint32_t stream) {
    std::string s;
    put(s, stream);
    return s;
  }
  void header(std::uint32_t stream, const std::string& name, const std::string& type,
              const std::string& format, double rate, const std::vector<std::string>& labels) {
    std::string xml = fmt::format(
        "<?xml version=\"1.0\"?><info><name>{}</name><type>{}</type><channel_count>{}</channel_count>"
        "<nominal_srate>{}</nominal_srate><channel_format>{}</channel_format><desc><channels>",
        name, type, labels.size(), rate, format);
    for (const auto& l : labels) xml += fmt::format("<channel><label>{}</label></channel>", l);
    chunk(2, id(stream) + xml + "</channels></desc></info>");
  }
  // Numeric samples [n x channels]; a time stamp on the first sample of the chunk only when `first_only`.
  template <typename T>
  void samples(std::uint32_t stream, const std::vector<T>& v, std::size_t channels, std::size_t first,
               std::size_t n, const std::vector<double>& stamps, bool first_only) {
    std::string c = id(stream);
    varlen(c, n);
    for (std::size_t i = 0; i < n; ++i) {
      const bool stamp = !first_only || i == 0;
      put<std::uint8_t>(c, stamp ? 8 : 0);
      if (stamp) put(c, stamps[first + i]);
      for (std::size_t k = 0; k < channels; ++k) put(c, v[(first + i) * channels + k]);
    }
    chunk(3, c);
  }
  void marker(std::uint32_t stream, double stamp, const std::string& text) {
    std::string c = id(stream);
    varlen(c, 1);
    put<std::uint8_t>(c, 8);
    put(c, stamp);
    varlen(c, text.size());
    c += text;
    chunk(3, c);
  }
  void clock_offset(std::uint32_t stream, double when, double offset) {
    std::string c = id(stream);
    put(c, when);
    put(c, offset);
    chunk(4, c);
  }
};

constexpr double kRecorderStart = 1000.0;  // LSL local_clock() of EMG sample 0
constexpr double kAccelOffset = 3.25;      // the accelerometer's clock is this far behind the recorder's
constexpr double kMarkerOffset = -1.5;     // the marker source's clock is ahead

using test::marker_label;

struct Written {
  XdfWriter xdf;
  std::string montage;
  std::size_t emg_samples_chunk = 0;  // index of an EMG samples chunk
};

// The sacral accelerometer in g (float32, as an XDF stream carries it) and its rate.
std::pair<std::vector<float>, double> sacrum_accel_g(const sim::SimulatedSession& s) {
  const std::size_t sensor = *s.montage.find_imu(Segment::sacrum);
  const ImuInfo& info = s.device_info.imu[sensor];
  std::vector<float> out;
  for (std::int16_t v : s.imu_accel(static_cast<std::uint8_t>(sensor)))
    out.push_back(static_cast<float>(v * info.accel_g_per_count));
  return {out, info.rate_hz};
}

Written write_xdf(const sim::SimulatedSession& s) {
  Written w;
  XdfWriter& x = w.xdf;
  const DeviceInfo& dev = s.device_info;
  const std::vector<std::int32_t> emg = s.emg_counts();
  const std::size_t ch = s.montage.emg.size(), rows = emg.size() / ch;
  const auto [acc, imu_rate] = sacrum_accel_g(s);
  std::vector<double> emg_t(rows), acc_t(acc.size() / 3);
  for (std::size_t r = 0; r < rows; ++r) emg_t[r] = kRecorderStart + static_cast<double>(r) / dev.emg_rate_hz;
  for (std::size_t i = 0; i < acc_t.size(); ++i)
    acc_t[i] = kRecorderStart + static_cast<double>(i) / imu_rate - kAccelOffset;
  std::vector<std::string> labels;
  for (const auto& c : s.montage.emg) labels.push_back(c.label);

  x.chunk(1, "<?xml version=\"1.0\"?><info><version>1.0</version></info>");
  x.header(1, "Wearable EMG", "EMG", "int32", dev.emg_rate_hz, labels);
  x.header(2, "Sacrum IMU", "Accelerometer", "float32", imu_rate, {"ax", "ay", "az"});
  x.header(3, "Operator", "Markers", "string", 0.0, {"marker"});
  for (std::uint32_t id = 1; id <= 3; ++id) {
    const double off = id == 1 ? 0.0 : id == 2 ? kAccelOffset : kMarkerOffset;
    x.clock_offset(id, kRecorderStart - off, off);
  }
  // Interleaved one-second chunks, as LabRecorder writes them; EMG chunks stamp only their first sample.
  const double seconds = static_cast<double>(rows) / dev.emg_rate_hz;
  for (std::size_t sec = 0; static_cast<double>(sec) < seconds; ++sec) {
    const auto e0 = static_cast<std::size_t>(static_cast<double>(sec) * dev.emg_rate_hz);
    const std::size_t en =
        std::min(rows, static_cast<std::size_t>(static_cast<double>(sec + 1) * dev.emg_rate_hz)) - e0;
    if (sec == 2) w.emg_samples_chunk = x.chunk_at.size();
    x.samples(1, emg, ch, e0, en, emg_t, true);
    const auto a0 = std::min(acc_t.size(), static_cast<std::size_t>(static_cast<double>(sec) * imu_rate));
    const auto a1 = std::min(acc_t.size(), static_cast<std::size_t>(static_cast<double>(sec + 1) * imu_rate));
    if (a1 > a0) x.samples(2, acc, 3, a0, a1 - a0, acc_t, false);
    if (sec == 5) x.chunk(5, std::string(16, '\x42'));  // Boundary
  }
  for (const Event& e : s.events) {
    const std::string label = marker_label(e);
    if (!label.empty()) x.marker(3, kRecorderStart + e.time_s - kMarkerOffset, label);
  }
  for (std::uint32_t id = 1; id <= 3; ++id) {
    const double off = id == 1 ? 0.0 : id == 2 ? kAccelOffset : kMarkerOffset;
    x.clock_offset(id, kRecorderStart + seconds - off, off);
    x.chunk(6, XdfWriter::id(id) + "<?xml version=\"1.0\"?><info></info>");
  }
  for (const auto& c : s.montage.emg) {
    w.montage += fmt::format(
        "[[emg]]\ncolumn = \"{}\"\nmuscle = \"{}\"\nside = \"{}\"\nunit = \"counts\"\nmicrovolts_per_count = "
        "{:.17g}\n\n",
        c.label, to_string(c.muscle), to_string(c.side), c.microvolts_per_count);
  }
  w.montage +=
      "[[imu]]\nsegment = \"sacrum\"\naccelerometer = [\"ax\", \"ay\", \"az\"]\naccelerometer_unit = \"g\"\n";
  return w;
}

struct XdfImport : ::testing::Test {
  fs::path dir = test::make_temp_dir("gs-xdf");
  void TearDown() override { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return dir / name;
  }
  store::ImportOptions options(const fs::path& xdf, const std::string& montage) {
    store::ImportOptions o;
    o.input = xdf;
    o.montage = write("m.toml", montage);
    o.subject_id = "S";
    o.out = dir / "x.h5";
    return o;
  }
};

// A simulated set of `reps` bridges (simulator defaults otherwise).
sim::SimulatedSession simulate_bridges(int reps, std::uint64_t seed) {
  sim::SimulatorSettings ss;
  ss.exercise = Exercise::bridge;
  ss.reps = reps;
  ss.seed = seed;
  return sim::simulate(ss);
}

const exercise::SetAnalysis& bridge_set(const pipeline::AnalysisResult& r) {
  for (const auto& s : r.analysis.sets)
    if (s.exercise == Exercise::bridge) return s;
  throw std::runtime_error("no bridge set");
}

TEST_F(XdfImport, ClockOffsetStreamsImportAndAnalyseLikeTheNativeSession) {
  sim::SimulatorSettings ss;
  ss.exercise = Exercise::bridge;
  ss.scenario = sim::Scenario::good;
  ss.seed = 31;
  ss.snr_db = 25.0;
  ss.reps = 5;
  ss.mvc_trials = true;
  const sim::SimulatedSession s = sim::simulate(ss);
  const Written w = write_xdf(s);
  const fs::path xdf = write("s.xdf", w.xdf.bytes);

  // Read back: rates, channel counts, offsets, and time stamps without their own stamp filled in.
  const store::XdfFile f = store::read_xdf(xdf);
  ASSERT_EQ(f.streams.size(), 3u);
  const std::size_t ch = s.montage.emg.size();
  EXPECT_EQ(f.streams[0].channel_count, ch);
  EXPECT_EQ(f.streams[0].nominal_srate, s.device_info.emg_rate_hz);
  EXPECT_EQ(f.streams[0].samples(), s.emg_counts().size() / ch);
  EXPECT_EQ(f.streams[1].channel_count, 3u);
  EXPECT_EQ(f.streams[1].labels.at(2), "az");
  EXPECT_EQ(f.streams[2].is_string(), true);
  ASSERT_EQ(f.streams[1].clock_offsets.size(), 2u);
  EXPECT_EQ(f.streams[1].clock_offsets[0].second, kAccelOffset);
  EXPECT_NEAR(store::corrected_time_stamps(f.streams[1]).front(), kRecorderStart, 1e-9);
  EXPECT_NEAR(store::corrected_time_stamps(f.streams[2]).front() - kRecorderStart,
              s.truth.schedule.markers.front().time_s, 1e-6);
  const std::size_t last = f.streams[0].samples() - 1;
  EXPECT_NEAR(f.streams[0].time_stamps[last],
              kRecorderStart + static_cast<double>(last) / s.device_info.emg_rate_hz, 1e-6);

  const store::ImportSummary sum = store::import_xdf(options(xdf, w.montage));
  EXPECT_EQ(sum.channels, ch);
  EXPECT_EQ(sum.rate_hz, s.device_info.emg_rate_hz);
  const pipeline::LoadedSession got_session = pipeline::load_session(dir / "x.h5");
  EXPECT_EQ(got_session.data.emg_counts.widened(), s.emg_counts());  // counts kept exactly
  EXPECT_NE(store::SessionReader(dir / "x.h5").info().session_description.find("clock offset +3.250000 s"),
            std::string::npos);

  pipeline::LoadedSession native;
  native.data = validation::session_data_from_simulation(s);
  const pipeline::AnalysisResult want = pipeline::analyse(native, pipeline::kDefaultAnalysisPipelineSettings);
  const pipeline::AnalysisResult got =
      pipeline::analyse(got_session, pipeline::kDefaultAnalysisPipelineSettings);
  const exercise::SetAnalysis& wb = bridge_set(want);
  const exercise::SetAnalysis& gb = bridge_set(got);
  EXPECT_EQ(gb.motion_source, exercise::MotionSource::accelerometer);
  EXPECT_EQ(got.analysis.mvc_trials.size(), want.analysis.mvc_trials.size());
  ASSERT_EQ(wb.reps.size(), s.truth.schedule.reps.size());
  // 150 ms: motion resampled to about 100 Hz and accelerometer-only (as the CSV import's tolerance).
  test::expect_same_reps(gb, wb, 0.15);
}

// A second accelerometer whose channels carry the same labels (two sensors both saying "ax", as LabRecorder
// files from two apps do) and a second string stream: an ambiguous label is refused naming both streams;
// --motion-stream and --marker-stream choose by name or by type; a choice that names nothing is refused.
TEST_F(XdfImport, MotionAndMarkerStreamsAreChosenByNameOrType) {
  const sim::SimulatedSession s = simulate_bridges(3, 32);
  Written w = write_xdf(s);
  XdfWriter& x = w.xdf;
  const double rate = sacrum_accel_g(s).second;
  const std::size_t n = sacrum_accel_g(s).first.size() / 3;
  // The thigh sensor lies still at a 30-degree slope on the recorder's own clock: (0.5, 0, 0.866) g.
  std::vector<float> thigh(n * 3);
  std::vector<double> thigh_t(n);
  for (std::size_t i = 0; i < n; ++i) {
    thigh[i * 3] = 0.5F;
    thigh[i * 3 + 2] = 0.8660254F;
    thigh_t[i] = kRecorderStart + static_cast<double>(i) / rate;
  }
  x.header(4, "Thigh IMU", "Accelerometer", "float32", rate, {"ax", "ay", "az"});
  x.samples(4, thigh, 3, 0, n, thigh_t, false);
  x.header(5, "Stray", "Annotations", "string", 0.0, {"text"});
  x.marker(5, kRecorderStart + 1.0, "set_start:clamshell");  // would open a second set if read
  const fs::path xdf = write("two.xdf", x.bytes);
  const fs::path montage = write("two.toml", w.montage);

  store::ImportOptions o = options(xdf, w.montage);
  try {
    store::import_xdf(o);
    ADD_FAILURE() << "an ambiguous label was accepted";
  } catch (const store::ImportError& e) {
    EXPECT_NE(std::string(e.what()).find("channel 'ax' is in streams 'Sacrum IMU' and 'Thigh IMU'"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--motion-stream"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out));

  // By name (motion) and by type (markers): the sacrum and the operator's markers, as without the extras.
  o.xdf_motion_stream = "Sacrum IMU";
  o.xdf_marker_stream = "Markers";
  store::import_xdf(o);
  pipeline::LoadedSession sacrum = pipeline::load_session(o.out);
  std::size_t want_events = 0;
  for (const Event& e : s.events) want_events += marker_label(e).empty() ? 0 : 1;
  EXPECT_EQ(sacrum.data.events.size(), want_events);
  for (const Event& e : sacrum.data.events) EXPECT_NE(e.text, "set_start:clamshell");
  pipeline::LoadedSession native;
  native.data = validation::session_data_from_simulation(s);
  test::expect_same_reps(bridge_set(pipeline::analyse(sacrum, pipeline::kDefaultAnalysisPipelineSettings)),
                         bridge_set(pipeline::analyse(native, pipeline::kDefaultAnalysisPipelineSettings)),
                         0.15);

  // The other sensor by name, through the command line: its constant slope is what was imported.
  const fs::path thigh_out = dir / "thigh.h5";
  const test::CliRun run = test::run_glutescope(
      {"import", "--from-xdf", xdf.string(), "--montage", montage.string(), "--motion-stream", "Thigh IMU",
       "--marker-stream", "Operator", "--subject", "S", "--out", thigh_out.string()},
      dir / "thigh.log");
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const pipeline::LoadedSession got = pipeline::load_session(thigh_out);
  ASSERT_EQ(got.data.imu.size(), 1u);
  const double g_per_count = got.data.device.imu.at(0).accel_g_per_count;
  ASSERT_GT(got.data.imu[0].samples(), 0u);
  for (std::size_t i = 0; i < got.data.imu[0].samples(); i += 97) {
    EXPECT_NEAR(got.data.imu[0].accel[i * 3] * g_per_count, 0.5, 1e-3) << i;
    EXPECT_NEAR(got.data.imu[0].accel[i * 3 + 2] * g_per_count, 0.8660254, 1e-3) << i;
  }

  // A choice that names no stream of its kind: one line listing the streams, nothing written.
  for (const auto& [motion, marker, expect] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"Shank IMU", "", "no regular numeric stream named or typed 'Shank IMU' (streams: 'Wearable EMG'"},
           {"", "Accelerometer", "no string stream named or typed 'Accelerometer'"}}) {
    SCOPED_TRACE(motion + marker);
    store::ImportOptions bad = options(xdf, w.montage);
    bad.out = dir / "refused.h5";
    bad.xdf_motion_stream = motion;
    bad.xdf_marker_stream = marker;
    try {
      store::import_xdf(bad);
      ADD_FAILURE() << "accepted";
    } catch (const store::ImportError& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(bad.out));
  }
}

TEST_F(XdfImport, BrokenChunksAreOneLineNamingTheChunkAndWriteNothing) {
  const sim::SimulatedSession s = simulate_bridges(2, 3);
  const Written w = write_xdf(s);
  const std::string good = w.xdf.bytes;
  const std::size_t k = w.emg_samples_chunk;
  const std::size_t at = w.xdf.chunk_at[k];
  const std::string name = fmt::format("chunk {} at byte {}", k + 1, at);
  struct Case {
    std::string what, bytes, expect;
  };
  std::vector<Case> cases;
  cases.push_back({"truncated", good.substr(0, at + 100), name + ": length"});
  std::string tag = good;
  const std::size_t len_bytes = static_cast<unsigned char>(good[at]);
  tag[at + 1 + len_bytes] = 9;  // the tag's low byte
  cases.push_back({"unknown tag", tag, name + " (tag 9): unknown tag"});
  std::string count = good;
  // Samples content: stream id (4 bytes), then the sample count's NumLengthBytes and count.
  const std::size_t count_at = at + 1 + len_bytes + 2 + 4;
  ASSERT_EQ(count[count_at], 4);  // a 4-byte count (a second of EMG is more than 255 samples)
  const std::uint32_t huge = 0x7FFFFFFF;
  std::memcpy(count.data() + count_at + 1, &huge, 4);
  cases.push_back({"count", count, name + " (tag 3): stream 1: 2147483647 samples cannot fit"});
  cases.push_back({"magic", "XDX:" + good.substr(4), "not an XDF file"});
  // Through the command: one line naming the file and the chunk, exit 1, nothing written.
  const fs::path bad = write("cli.xdf", cases[0].bytes);
  const test::CliRun run = test::run_glutescope(
      {"import", "--from-xdf", bad.string(), "--montage", write("cli.toml", w.montage).string(), "--subject",
       "S", "--out", (dir / "cli.h5").string()},
      dir / "cli.log");
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_EQ(run.output.rfind(fmt::format("glutescope: {}: {}: length", bad.string(), name), 0), 0u)
      << run.output;
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
  EXPECT_FALSE(fs::exists(dir / "cli.h5"));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const store::ImportOptions o = options(write("bad.xdf", c.bytes), w.montage);
    try {
      store::import_xdf(o);
      ADD_FAILURE() << "accepted";
    } catch (const store::ImportError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find((dir / "bad.xdf").string() + ": "), std::string::npos) << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    EXPECT_FALSE(fs::exists(o.out));
  }
}

// Every truncation and every single-byte change of a small file (three streams, a few samples each) is
// read or refused with an ImportError: no crash, no other exception, no allocation beyond the file.
TEST_F(XdfImport, EveryTruncationAndByteChangeIsReadOrRefused) {
  XdfWriter x;
  x.chunk(1, "<?xml version=\"1.0\"?><info><version>1.0</version></info>");
  x.header(1, "E", "EMG", "int16", 1000.0, {"a", "b"});
  x.header(2, "A", "Accelerometer", "double64", 100.0, {"ax"});
  x.header(3, "M", "Markers", "string", 0.0, {"m"});
  const std::vector<std::int16_t> emg{1, -2, 3, -4, 5, -6};
  const std::vector<double> acc{0.5, 0.25}, t{10.0, 10.001, 10.002};
  x.samples(1, emg, 2, 0, 3, t, true);
  x.samples(2, acc, 1, 0, 2, t, false);
  x.marker(3, 10.0015, "set_start:bridge");
  x.clock_offset(2, 10.0, 0.125);
  x.chunk(6, XdfWriter::id(1) + "<info/>");
  const store::XdfFile f = store::read_xdf(write("small.xdf", x.bytes));
  ASSERT_EQ(f.streams.size(), 3u);
  EXPECT_EQ(f.streams[0].values, (std::vector<double>{1, -2, 3, -4, 5, -6}));
  EXPECT_NEAR(f.streams[0].time_stamps[2], 10.002, 1e-12);  // unstamped: + 1 / nominal_srate
  EXPECT_EQ(f.streams[2].strings.at(0), "set_start:bridge");
  EXPECT_NEAR(store::corrected_time_stamps(f.streams[1])[1], 10.001 + 0.125, 1e-12);
  std::size_t refused = 0;
  auto attempt = [&](const std::string& bytes) {
    try {
      (void)store::read_xdf(write("m.xdf", bytes));
    } catch (const store::ImportError& e) {
      ++refused;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  };
  for (std::size_t n = 0; n < x.bytes.size(); ++n) attempt(x.bytes.substr(0, n));
  // A cut just before a chunk (the first after the magic included) leaves a readable file; all others not.
  EXPECT_EQ(refused, x.bytes.size() - x.chunk_at.size());
  for (std::size_t i = 0; i < x.bytes.size(); ++i) {
    for (const unsigned char v : {0x00, 0x07, 0xFF}) {
      std::string b = x.bytes;
      b[i] = static_cast<char>(v);
      attempt(b);
    }
  }
}

}  // namespace
}  // namespace glutescope
