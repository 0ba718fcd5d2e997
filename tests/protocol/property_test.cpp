// Property tests of the codec and the stream decoder with seeded random messages: round trips of every
// message type (edge sizes included), every single-bit flip and every truncation rejected, garbage
// between frames, arbitrary chunk splits, unknown types and newer versions skipped.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "devices/stream_decoder.hpp"

namespace glutescope::protocol {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A message in the form the tests compare: the frame's header plus its payload bytes as produced by
// the C encoder, and the semantic fields (so decode is checked field by field, not bytes against bytes).
struct Sample {
  Bytes wire;
  std::uint8_t type = 0;
  FrameStamp stamp;
  // Semantic content (only the members of `type` are used).
  gsp_event event{};
  gsp_status status{};
  gsp_command command{};
  gsp_ack ack{};
  std::uint32_t first_sample = 0;
  std::uint8_t channels = 0;
  SampleFormat format = SampleFormat::int16;
  std::vector<std::int32_t> counts;
  std::uint8_t sensor = 0;
  std::vector<std::int16_t> accel, gyro, mag;
  glutescope::DeviceInfo info;
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  template <typename T>
  T uniform(T lo, T hi) {
    return static_cast<T>(std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_));
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(rng_()); }
  std::uint64_t u64() { return (std::uint64_t{u32()} << 32) | u32(); }
  std::mt19937& rng() { return rng_; }

  std::string text(std::size_t max) {
    std::string s(uniform<std::size_t>(0, max), ' ');
    for (auto& ch : s) ch = static_cast<char>(uniform<int>(1, 127));
    return s;
  }
  // Exactly representable in float32 (so the DeviceInfo round trip through float32 is exact).
  double f32() { return static_cast<double>(static_cast<float>(uniform<int>(-100000, 100000)) / 1024.0F); }

  Sample make(std::uint8_t type, int size_mode /* 0 random, 1 empty, 2 max */) {
    Sample s;
    s.type = type;
    s.stamp = {static_cast<std::uint16_t>(u32()), u32(), u64()};
    switch (type) {
      case GSP_MSG_DEVICE_INFO: {
        s.info.firmware_version = text(GSP_MAX_STRING_LENGTH);
        s.info.serial_number = text(GSP_MAX_STRING_LENGTH);
        s.info.emg_format = uniform<int>(0, 1) == 0 ? SampleFormat::int16 : SampleFormat::int24;
        s.info.emg_rate_hz = f32();
        const std::size_t n_emg = size_mode == 1   ? 0
                                  : size_mode == 2 ? GSP_MAX_EMG_CHANNELS
                                                   : uniform<std::size_t>(0, 16);
        for (std::size_t i = 0; i < n_emg; ++i)
          s.info.emg.push_back({text(GSP_MAX_LABEL_LENGTH), f32(), f32()});
        const std::size_t n_imu = size_mode == 1   ? 0
                                  : size_mode == 2 ? GSP_MAX_IMUS
                                                   : uniform<std::size_t>(0, 4);
        for (std::size_t i = 0; i < n_imu; ++i) {
          ImuInfo m;
          m.label = text(GSP_MAX_LABEL_LENGTH);
          m.rate_hz = f32();
          m.accel_range_g = f32();
          m.gyro_range_dps = f32();
          m.accel_g_per_count = f32();
          m.gyro_dps_per_count = f32();
          m.has_magnetometer = uniform<int>(0, 1) == 1;
          m.mag_ut_per_count = m.has_magnetometer ? f32() : 0.0;
          s.info.imu.push_back(m);
        }
        s.wire = encode_device_info(s.stamp, s.info);
        break;
      }
      case GSP_MSG_EMG_BLOCK: {
        s.channels = uniform<std::uint8_t>(1, 16);
        s.format = uniform<int>(0, 1) == 0 ? SampleFormat::int16 : SampleFormat::int24;
        const std::uint16_t max = gsp_emg_max_samples(s.channels, static_cast<std::uint8_t>(s.format));
        const std::size_t n = size_mode == 1 ? 0 : size_mode == 2 ? max : uniform<std::size_t>(0, max);
        const std::int32_t lim = s.format == SampleFormat::int16 ? 32767 : 8388607;
        s.first_sample = u32();
        s.counts.resize(n * s.channels);
        for (auto& v : s.counts) v = uniform<std::int32_t>(-lim - 1, lim);
        s.wire = encode_emg_block(s.stamp, s.first_sample, s.channels, s.format, s.counts);
        break;
      }
      case GSP_MSG_IMU_BLOCK: {
        const bool has_mag = uniform<int>(0, 1) == 1;
        const std::uint16_t max = gsp_imu_max_samples(has_mag ? GSP_IMU_FLAG_HAS_MAG : 0);
        const std::size_t n = size_mode == 1 ? 0 : size_mode == 2 ? max : uniform<std::size_t>(0, max);
        s.sensor = uniform<std::uint8_t>(0, 3);
        s.first_sample = u32();
        for (std::size_t i = 0; i < 3 * n; ++i) {
          s.accel.push_back(uniform<std::int16_t>(-32768, 32767));
          s.gyro.push_back(uniform<std::int16_t>(-32768, 32767));
          if (has_mag) s.mag.push_back(uniform<std::int16_t>(-32768, 32767));
        }
        // With zero samples a nine-axis block cannot be told from a six-axis one by the span sizes.
        s.wire = encode_imu_block(s.stamp, s.sensor, s.first_sample, s.accel, s.gyro, s.mag);
        break;
      }
      case GSP_MSG_EVENT: {
        // Every v1 kind (SET_START/STOP with fields from the PROTOCOL.md §4.4 code tables) and kinds a later
        // minor revision may add (7-255: they decode as they are, the host skips them).
        const auto kind = uniform<std::uint8_t>(0, 7);
        s.event = {kind == 7 ? uniform<std::uint8_t>(7, 255) : kind, static_cast<std::uint16_t>(u32()),
                   u32()};
        if (kind == GSP_EVENT_SET_START || kind == GSP_EVENT_SET_STOP) {
          static constexpr std::uint16_t kExercises[] = {GSP_EXERCISE_BRIDGE, GSP_EXERCISE_CLAMSHELL,
                                                         GSP_EXERCISE_MVC, GSP_EXERCISE_OTHER};
          static constexpr std::uint8_t kMuscles[] = {0, 1, 2, 3, 4, 255};
          s.event.arg = kExercises[uniform<int>(0, 3)];
          s.event.value = s.event.arg == GSP_EXERCISE_MVC
                              ? GSP_SET_VALUE(kMuscles[uniform<int>(0, 5)], uniform<std::uint8_t>(0, 3))
                              : 0u;
        }
        s.wire = encode_event(s.stamp, s.event);
        break;
      }
      case GSP_MSG_STATUS:
        s.status = {uniform<std::uint8_t>(0, 255), uniform<std::uint8_t>(0, 1),
                    static_cast<std::uint16_t>(u32()), u32(), u32()};
        s.wire = encode_status(s.stamp, s.status);
        break;
      case GSP_MSG_COMMAND:
        s.command = {static_cast<std::uint16_t>(u32()), uniform<std::uint8_t>(1, 5),
                     uniform<std::uint8_t>(0, 255), u32()};
        s.wire = encode_command(s.stamp, s.command);
        break;
      default:
        s.type = GSP_MSG_ACK;
        s.ack = {static_cast<std::uint16_t>(u32()), uniform<std::uint8_t>(1, 5), uniform<std::uint8_t>(0, 4)};
        s.wire = encode_ack(s.stamp, s.ack);
        break;
    }
    return s;
  }

  Sample random_message() {
    static constexpr std::uint8_t types[] = {GSP_MSG_DEVICE_INFO, GSP_MSG_EMG_BLOCK, GSP_MSG_IMU_BLOCK,
                                             GSP_MSG_EVENT,       GSP_MSG_STATUS,    GSP_MSG_COMMAND,
                                             GSP_MSG_ACK};
    return make(types[uniform<std::size_t>(0, 6)], 0);
  }

 private:
  std::mt19937 rng_;
};

constexpr std::uint8_t all_types[] = {GSP_MSG_DEVICE_INFO, GSP_MSG_EMG_BLOCK, GSP_MSG_IMU_BLOCK,
                                      GSP_MSG_EVENT,       GSP_MSG_STATUS,    GSP_MSG_COMMAND,
                                      GSP_MSG_ACK};

// Field-by-field comparison of a decoded frame with the sample it came from.
void expect_matches(const Sample& s, const Frame& frame, const Message& message) {
  EXPECT_EQ(frame.header.version, 1);
  EXPECT_EQ(frame.header.type, s.type);
  EXPECT_EQ(frame.header.device_id, s.stamp.device_id);
  EXPECT_EQ(frame.header.sequence, s.stamp.sequence);
  EXPECT_EQ(frame.header.timestamp_us, s.stamp.timestamp_us);
  switch (s.type) {
    case GSP_MSG_DEVICE_INFO: {
      const auto info = to_device_info(std::get<gsp_device_info>(message), frame.header.device_id);
      EXPECT_EQ(info.firmware_version, s.info.firmware_version);
      EXPECT_EQ(info.serial_number, s.info.serial_number);
      EXPECT_EQ(info.emg_format, s.info.emg_format);
      EXPECT_EQ(info.emg_rate_hz, s.info.emg_rate_hz);
      ASSERT_EQ(info.emg.size(), s.info.emg.size());
      for (std::size_t i = 0; i < info.emg.size(); ++i) {
        EXPECT_EQ(info.emg[i].label, s.info.emg[i].label);
        EXPECT_EQ(info.emg[i].gain, s.info.emg[i].gain);
        EXPECT_EQ(info.emg[i].microvolts_per_count, s.info.emg[i].microvolts_per_count);
      }
      ASSERT_EQ(info.imu.size(), s.info.imu.size());
      for (std::size_t i = 0; i < info.imu.size(); ++i) {
        EXPECT_EQ(info.imu[i].label, s.info.imu[i].label);
        EXPECT_EQ(info.imu[i].rate_hz, s.info.imu[i].rate_hz);
        EXPECT_EQ(info.imu[i].accel_range_g, s.info.imu[i].accel_range_g);
        EXPECT_EQ(info.imu[i].gyro_range_dps, s.info.imu[i].gyro_range_dps);
        EXPECT_EQ(info.imu[i].accel_g_per_count, s.info.imu[i].accel_g_per_count);
        EXPECT_EQ(info.imu[i].gyro_dps_per_count, s.info.imu[i].gyro_dps_per_count);
        EXPECT_EQ(info.imu[i].has_magnetometer, s.info.imu[i].has_magnetometer);
        EXPECT_EQ(info.imu[i].mag_ut_per_count, s.info.imu[i].mag_ut_per_count);
      }
      break;
    }
    case GSP_MSG_EMG_BLOCK: {
      const auto& b = std::get<gsp_emg_block>(message);
      EXPECT_EQ(b.first_sample, s.first_sample);
      EXPECT_EQ(b.channel_count, s.channels);
      EXPECT_EQ(b.format, static_cast<std::uint8_t>(s.format));
      EmgBlock block;
      to_emg_block(b, b.first_sample, frame.header.timestamp_us, block);
      EXPECT_EQ(block.counts, s.counts);
      break;
    }
    case GSP_MSG_IMU_BLOCK: {
      const auto& b = std::get<gsp_imu_block>(message);
      EXPECT_EQ(b.first_sample, s.first_sample);
      ImuBlock block;
      to_imu_block(b, b.first_sample, frame.header.timestamp_us, block);
      EXPECT_EQ(block.sensor, s.sensor);
      EXPECT_EQ(block.accel, s.accel);
      EXPECT_EQ(block.gyro, s.gyro);
      EXPECT_EQ(block.mag, s.mag);
      break;
    }
    case GSP_MSG_EVENT: {
      const auto& e = std::get<gsp_event>(message);
      EXPECT_EQ(e.kind, s.event.kind);
      EXPECT_EQ(e.arg, s.event.arg);
      EXPECT_EQ(e.value, s.event.value);
      break;
    }
    case GSP_MSG_STATUS: {
      const auto& t = std::get<gsp_status>(message);
      EXPECT_EQ(t.battery_percent, s.status.battery_percent);
      EXPECT_EQ(t.state, s.status.state);
      EXPECT_EQ(t.battery_mv, s.status.battery_mv);
      EXPECT_EQ(t.overflow_count, s.status.overflow_count);
      EXPECT_EQ(t.uptime_s, s.status.uptime_s);
      break;
    }
    case GSP_MSG_COMMAND: {
      const auto& c = std::get<gsp_command>(message);
      EXPECT_EQ(c.command_id, s.command.command_id);
      EXPECT_EQ(c.opcode, s.command.opcode);
      EXPECT_EQ(c.target, s.command.target);
      EXPECT_EQ(c.argument, s.command.argument);
      break;
    }
    default: {
      const auto& a = std::get<gsp_ack>(message);
      EXPECT_EQ(a.command_id, s.ack.command_id);
      EXPECT_EQ(a.opcode, s.ack.opcode);
      EXPECT_EQ(a.result, s.ack.result);
      break;
    }
  }
}

void expect_round_trip(const Sample& s) {
  ASSERT_LE(s.wire.size(), GSP_MAX_WIRE_SIZE);
  EXPECT_EQ(s.wire.back(), 0);
  EXPECT_EQ(std::count(s.wire.begin(), s.wire.end(), 0), 1);  // only the delimiter is zero
  std::vector<std::uint8_t> scratch;
  Frame frame;
  ASSERT_EQ(decode_frame(s.wire, scratch, frame), GSP_OK);
  Message message;
  ASSERT_EQ(decode_message(frame, message), GSP_OK);
  expect_matches(s, frame, message);
}

TEST(ProtocolProperty, RandomMessagesRoundTrip) {
  Generator gen(20240601);
  for (int i = 0; i < 700; ++i) {
    SCOPED_TRACE(i);
    expect_round_trip(gen.random_message());
  }
}

TEST(ProtocolProperty, EmptyAndMaximumSizesRoundTripForEveryType) {
  Generator gen(7);
  for (const std::uint8_t type : all_types) {
    for (int mode = 1; mode <= 2; ++mode) {
      for (int i = 0; i < 20; ++i) {
        SCOPED_TRACE(testing::Message() << "type " << int{type} << " mode " << mode);
        expect_round_trip(gen.make(type, mode));
      }
    }
  }
  // Every channel count and format at the maximum sample count fits in one frame.
  for (std::uint8_t channels = 1; channels <= GSP_MAX_EMG_CHANNELS; ++channels) {
    for (const auto format : {SampleFormat::int16, SampleFormat::int24}) {
      const std::size_t n = gsp_emg_max_samples(channels, static_cast<std::uint8_t>(format));
      const std::vector<std::int32_t> counts(n * channels, -1);
      const auto wire = encode_emg_block({}, 0, channels, format, counts);
      EXPECT_LE(wire.size(), GSP_MAX_WIRE_SIZE);
      EXPECT_THROW(
          encode_emg_block({}, 0, channels, format, std::vector<std::int32_t>((n + 1) * channels, 0)),
          std::invalid_argument);
    }
  }
}

// A few valid frames of every type (small and maximum size).
std::vector<Sample> frames_of_every_type() {
  Generator gen(99);
  std::vector<Sample> out;
  for (const std::uint8_t type : all_types) {
    out.push_back(gen.make(type, 0));
    out.push_back(gen.make(type, 1));
  }
  out.push_back(gen.make(GSP_MSG_EMG_BLOCK, 2));
  return out;
}

TEST(ProtocolProperty, EverySingleBitFlipIsRejected) {
  std::size_t flips = 0;
  for (const Sample& s : frames_of_every_type()) {
    const Sample sentinel = Generator(5).make(GSP_MSG_STATUS, 0);
    for (std::size_t byte = 0; byte < s.wire.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes corrupted = s.wire;
        corrupted[byte] = static_cast<std::uint8_t>(corrupted[byte] ^ (1u << bit));
        ++flips;
        // Codec level: the damaged frame never decodes.
        Bytes scratch(corrupted.size());
        gsp_header h{};
        const std::uint8_t* payload = nullptr;
        ASSERT_NE(gsp_frame_decode(corrupted.data(), corrupted.size(), scratch.data(), scratch.size(), &h,
                                   &payload),
                  GSP_OK)
            << "byte " << byte << " bit " << bit;
        // Stream level: damaged frame, a delimiter, then a good frame. Only the good frame comes out, and
        // the damage is counted (a flip that makes a 0x00 splits the frame in two rejects).
        std::vector<std::uint32_t> delivered;
        StreamDecoder decoder(
            [&](const Frame& f, const Message&) { delivered.push_back(f.header.sequence); });
        decoder.feed(corrupted);
        const std::uint8_t delimiter = 0;
        decoder.feed(std::span(&delimiter, 1));
        decoder.feed(sentinel.wire);
        ASSERT_EQ(delivered, std::vector<std::uint32_t>{sentinel.stamp.sequence})
            << "byte " << byte << " bit " << bit;
        const auto& k = decoder.counters();
        EXPECT_GE(k.crc_errors + k.cobs_errors + k.length_errors + k.too_long, 1u);
        EXPECT_GT(k.garbage_bytes, 0u);
      }
    }
  }
  EXPECT_GT(flips, 10000u);
}

TEST(ProtocolProperty, EveryTruncationIsRejected) {
  for (const Sample& s : frames_of_every_type()) {
    for (std::size_t keep = 0; keep + 1 < s.wire.size(); ++keep) {
      Bytes truncated(s.wire.begin(), s.wire.begin() + static_cast<std::ptrdiff_t>(keep));
      truncated.push_back(0);
      Bytes scratch(truncated.size());
      gsp_header h{};
      const std::uint8_t* payload = nullptr;
      ASSERT_NE(
          gsp_frame_decode(truncated.data(), truncated.size(), scratch.data(), scratch.size(), &h, &payload),
          GSP_OK)
          << "kept " << keep << " of " << s.wire.size();
      StreamDecoder decoder(
          [](const Frame&, const Message&) { ADD_FAILURE() << "truncated frame accepted"; });
      decoder.feed(truncated);
      EXPECT_EQ(decoder.counters().garbage_bytes, keep);
    }
  }
}

// Feeds `stream` in random chunk sizes and returns (sequence, payload) of each delivered frame.
struct Delivered {
  std::vector<std::uint32_t> sequences;
  std::vector<Bytes> payloads;
  StreamDecoderCounters counters;
};

Delivered feed_in_chunks(const Bytes& stream, std::mt19937& rng, std::size_t max_chunk) {
  Delivered d;
  StreamDecoder decoder([&d](const Frame& f, const Message&) {
    d.sequences.push_back(f.header.sequence);
    d.payloads.emplace_back(f.payload.begin(), f.payload.end());
  });
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t n =
        std::min(stream.size() - pos, std::uniform_int_distribution<std::size_t>(1, max_chunk)(rng));
    decoder.feed(std::span(stream).subspan(pos, n));
    pos += n;
  }
  d.counters = decoder.counters();
  return d;
}

void expect_same_counters(const StreamDecoderCounters& a, const StreamDecoderCounters& b) {
  EXPECT_EQ(a.frames_ok, b.frames_ok);
  EXPECT_EQ(a.crc_errors, b.crc_errors);
  EXPECT_EQ(a.cobs_errors, b.cobs_errors);
  EXPECT_EQ(a.length_errors, b.length_errors);
  EXPECT_EQ(a.too_long, b.too_long);
  EXPECT_EQ(a.payload_errors, b.payload_errors);
  EXPECT_EQ(a.unknown_type, b.unknown_type);
  EXPECT_EQ(a.unsupported_version, b.unsupported_version);
  EXPECT_EQ(a.garbage_bytes, b.garbage_bytes);
}

TEST(ProtocolProperty, GarbageBetweenFramesYieldsExactlyTheValidFrames) {
  Generator gen(424242);
  Bytes stream;
  std::vector<std::uint32_t> expected;
  std::uint64_t garbage = 0;
  for (int i = 0; i < 300; ++i) {
    // Random garbage closed by a delimiter (a sender starts each frame after a 0x00 to resynchronise).
    const std::size_t n = gen.uniform<std::size_t>(0, 40);
    for (std::size_t k = 0; k < n; ++k) {
      const auto b = gen.uniform<std::uint8_t>(0, 255);
      stream.push_back(b);
      if (b != 0) ++garbage;
    }
    stream.push_back(0);
    Sample s = gen.random_message();
    s.stamp.sequence = static_cast<std::uint32_t>(i);
    // Re-stamp: rebuild the frame with sequence i so the order is checkable.
    Frame frame;
    std::vector<std::uint8_t> scratch;
    ASSERT_EQ(decode_frame(s.wire, scratch, frame), GSP_OK);
    const Bytes wire = encode_frame(
        frame.header.type, {frame.header.device_id, static_cast<std::uint32_t>(i), frame.header.timestamp_us},
        frame.payload);
    stream.insert(stream.end(), wire.begin(), wire.end());
    expected.push_back(static_cast<std::uint32_t>(i));
  }
  std::mt19937 rng(1);
  const Delivered whole = feed_in_chunks(stream, rng, stream.size());
  EXPECT_EQ(whole.sequences, expected);
  EXPECT_EQ(whole.counters.frames_ok, 300u);
  EXPECT_EQ(whole.counters.garbage_bytes, garbage);
  EXPECT_EQ(whole.counters.unknown_type + whole.counters.unsupported_version + whole.counters.payload_errors,
            0u);
  EXPECT_EQ(whole.counters.extended_payloads, 0u);  // v1 frames carry exactly the v1 fields
  // Any split, down to one byte at a time, gives the same frames and counters.
  for (const std::size_t max_chunk :
       {std::size_t{1}, std::size_t{3}, std::size_t{20}, std::size_t{244}, std::size_t{5000}}) {
    const Delivered split = feed_in_chunks(stream, rng, max_chunk);
    EXPECT_EQ(split.sequences, whole.sequences);
    EXPECT_EQ(split.payloads, whole.payloads);
    expect_same_counters(split.counters, whole.counters);
  }
}

TEST(ProtocolProperty, FrameSplitAtEveryBoundaryDecodesIdentically) {
  const Sample s = Generator(3).make(GSP_MSG_DEVICE_INFO, 2);
  for (std::size_t cut = 0; cut <= s.wire.size(); ++cut) {
    std::vector<Bytes> payloads;
    StreamDecoder decoder(
        [&](const Frame& f, const Message&) { payloads.emplace_back(f.payload.begin(), f.payload.end()); });
    decoder.feed(std::span(s.wire).first(cut));
    decoder.feed(std::span(s.wire).subspan(cut));
    ASSERT_EQ(payloads.size(), 1u) << "cut at " << cut;
  }
}

TEST(ProtocolProperty, UnknownTypesAndNewerVersionsAreSkippedAndCounted) {
  Generator gen(11);
  const Bytes payload = {1, 2, 3, 4, 5};
  Bytes stream = encode_frame(0x7E, {1, 1, 0}, payload);
  // A version-2 frame with a correct CRC: patch the version byte in the raw frame and re-encode.
  {
    Bytes raw(GSP_MAX_FRAME_SIZE);
    const Bytes v1 = encode_frame(GSP_MSG_EVENT, {1, 2, 0}, Bytes(8, 0));
    std::size_t n = 0;
    ASSERT_EQ(gsp_cobs_decode(v1.data(), v1.size() - 1, raw.data(), raw.size(), &n), GSP_OK);
    raw.resize(n);
    raw[0] = 2;
    const std::uint32_t crc = gsp_crc32c(raw.data(), raw.size() - 4);
    for (int i = 0; i < 4; ++i)
      raw[raw.size() - 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
    Bytes encoded(GSP_COBS_MAX_ENCODED_SIZE(raw.size()));
    ASSERT_EQ(gsp_cobs_encode(raw.data(), raw.size(), encoded.data(), encoded.size(), &n), GSP_OK);
    encoded.resize(n);
    encoded.push_back(0);
    stream.insert(stream.end(), encoded.begin(), encoded.end());
  }
  const Sample next = gen.make(GSP_MSG_IMU_BLOCK, 0);
  stream.insert(stream.end(), next.wire.begin(), next.wire.end());
  int delivered = 0;
  StreamDecoder decoder([&](const Frame& f, const Message& m) {
    ++delivered;
    expect_matches(next, f, m);
  });
  decoder.feed(stream);
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(decoder.counters().unknown_type, 1u);
  EXPECT_EQ(decoder.counters().unsupported_version, 1u);
  EXPECT_EQ(decoder.counters().garbage_bytes, 0u);
}

TEST(ProtocolProperty, LongerPayloadsFromALaterMinorRevisionAreAccepted) {
  // A minor revision may append fields; a v1 decoder reads its fields and ignores the rest.
  Bytes payload(GSP_STATUS_SIZE);
  std::size_t n = 0;
  const gsp_status status{90, 1, 4000, 2, 60};
  ASSERT_EQ(gsp_status_encode(&status, payload.data(), payload.size(), &n), GSP_OK);
  payload.push_back(0xAB);
  payload.push_back(0xCD);
  std::vector<std::uint8_t> scratch;
  Frame frame;
  ASSERT_EQ(decode_frame(encode_frame(GSP_MSG_STATUS, {}, payload), scratch, frame), GSP_OK);
  Message message;
  ASSERT_EQ(decode_message(frame, message), GSP_OK);
  EXPECT_EQ(std::get<gsp_status>(message).battery_mv, 4000);
  EXPECT_EQ(std::get<gsp_status>(message).uptime_s, 60u);

  // The stream decoder delivers such frames and counts them; DEVICE_INFO with an appended field too.
  Bytes stream = encode_frame(GSP_MSG_STATUS, {1, 1, 0}, payload);
  const Sample info = Generator(21).make(GSP_MSG_DEVICE_INFO, 2);
  ASSERT_EQ(decode_frame(info.wire, scratch, frame), GSP_OK);
  Bytes info_payload(frame.payload.begin(), frame.payload.end());
  const Bytes plain_info = encode_frame(GSP_MSG_DEVICE_INFO, {1, 2, 0}, info_payload);
  info_payload.push_back(0x01);
  const Bytes extended_info = encode_frame(GSP_MSG_DEVICE_INFO, {1, 3, 0}, info_payload);
  stream.insert(stream.end(), plain_info.begin(), plain_info.end());
  stream.insert(stream.end(), extended_info.begin(), extended_info.end());
  std::vector<std::string> serials;
  StreamDecoder decoder([&](const Frame&, const Message& m) {
    if (const auto* d = std::get_if<gsp_device_info>(&m)) {
      serials.emplace_back(d->serial_number);
    }
  });
  decoder.feed(stream);
  EXPECT_EQ(decoder.counters().frames_ok, 3u);
  EXPECT_EQ(decoder.counters().extended_payloads, 2u);
  EXPECT_EQ(serials, (std::vector<std::string>{info.info.serial_number, info.info.serial_number}));
}

}  // namespace
}  // namespace glutescope::protocol
