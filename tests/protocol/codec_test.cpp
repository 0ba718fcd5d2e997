// The C99 codec against independent references: CRC-32C check value (RFC 3720), COBS examples from
// Cheshire & Baker 1999 / the Wikipedia table, and the golden vectors written by the stdlib-only Python
// generator (firmware-protocol/vectors/generate.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "glutescope_protocol.h"

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Bytes cobs_encode(const Bytes& in) {
  Bytes out(GSP_COBS_MAX_ENCODED_SIZE(in.size()) + 1);
  std::size_t n = 0;
  EXPECT_EQ(gsp_cobs_encode(in.data(), in.size(), out.data(), out.size(), &n), GSP_OK);
  out.resize(n);
  return out;
}

Bytes cobs_decode(const Bytes& in, gsp_result expected = GSP_OK) {
  Bytes out(in.size() + 1);
  std::size_t n = 0;
  EXPECT_EQ(gsp_cobs_decode(in.data(), in.size(), out.data(), out.size(), &n), expected);
  out.resize(expected == GSP_OK ? n : 0);
  return out;
}

TEST(Crc32c, CheckValueFromRfc3720) {
  const std::string check = "123456789";
  EXPECT_EQ(gsp_crc32c(reinterpret_cast<const std::uint8_t*>(check.data()), check.size()), 0xE3069283u);
}

TEST(Crc32c, Rfc3720AppendixB4Vectors) {
  // RFC 3720 B.4: 32 bytes of zeros -> aa 36 91 8a (as transmitted, i.e. 0x8A9136AA); 32 bytes of 0xFF ->
  // 0x62A8AB43; 32 incrementing bytes 00..1F -> 0x46DD794E.
  std::array<std::uint8_t, 32> data{};
  EXPECT_EQ(gsp_crc32c(data.data(), data.size()), 0x8A9136AAu);
  data.fill(0xFF);
  EXPECT_EQ(gsp_crc32c(data.data(), data.size()), 0x62A8AB43u);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(gsp_crc32c(data.data(), data.size()), 0x46DD794Eu);
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  const std::string text = "glutescope wire protocol v1";
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  std::uint32_t state = gsp_crc32c_update(0xFFFFFFFFu, p, 5);
  state = gsp_crc32c_update(state, p + 5, text.size() - 5);
  EXPECT_EQ(state ^ 0xFFFFFFFFu, gsp_crc32c(p, text.size()));
}

// Examples from the COBS table on Wikipedia ("Consistent Overhead Byte Stuffing"), which follow
// Cheshire & Baker 1999.
TEST(Cobs, WikipediaExamples) {
  const std::vector<std::pair<Bytes, Bytes>> cases = {
      {{0x00}, {0x01, 0x01}},
      {{0x00, 0x00}, {0x01, 0x01, 0x01}},
      {{0x00, 0x11, 0x00}, {0x01, 0x02, 0x11, 0x01}},
      {{0x11, 0x22, 0x00, 0x33}, {0x03, 0x11, 0x22, 0x02, 0x33}},
      {{0x11, 0x22, 0x33, 0x44}, {0x05, 0x11, 0x22, 0x33, 0x44}},
      {{0x11, 0x00, 0x00, 0x00}, {0x02, 0x11, 0x01, 0x01, 0x01}},
  };
  for (const auto& [raw, encoded] : cases) {
    EXPECT_EQ(cobs_encode(raw), encoded);
    EXPECT_EQ(cobs_decode(encoded), raw);
  }
}

TEST(Cobs, RunsOf254NonZeroBytes) {
  // 01..FE (254 bytes) -> FF 01..FE: a full block, no trailing empty block.
  Bytes raw;
  for (int i = 1; i <= 254; ++i) raw.push_back(static_cast<std::uint8_t>(i));
  Bytes expected = {0xFF};
  expected.insert(expected.end(), raw.begin(), raw.end());
  EXPECT_EQ(cobs_encode(raw), expected);
  EXPECT_EQ(cobs_decode(expected), raw);

  // 00 01..FE (255 bytes) -> 01 FF 01..FE
  Bytes raw2 = {0x00};
  raw2.insert(raw2.end(), raw.begin(), raw.end());
  Bytes expected2 = {0x01, 0xFF};
  expected2.insert(expected2.end(), raw.begin(), raw.end());
  EXPECT_EQ(cobs_encode(raw2), expected2);
  EXPECT_EQ(cobs_decode(expected2), raw2);

  // 01..FF (255 bytes) -> FF 01..FE 02 FF
  Bytes raw3 = raw;
  raw3.push_back(0xFF);
  Bytes expected3 = expected;
  expected3.push_back(0x02);
  expected3.push_back(0xFF);
  EXPECT_EQ(cobs_encode(raw3), expected3);
  EXPECT_EQ(cobs_decode(expected3), raw3);

  // 02..FF 00 (255 bytes) -> FF 02..FF 01 01
  Bytes raw4;
  for (int i = 2; i <= 255; ++i) raw4.push_back(static_cast<std::uint8_t>(i));
  raw4.push_back(0x00);
  Bytes expected4 = {0xFF};
  expected4.insert(expected4.end(), raw4.begin(), raw4.end() - 1);
  expected4.push_back(0x01);
  expected4.push_back(0x01);
  EXPECT_EQ(cobs_encode(raw4), expected4);
  EXPECT_EQ(cobs_decode(expected4), raw4);
}

TEST(Cobs, EncodeFitsExactCapacityAndReportsTooSmall) {
  Bytes raw;
  for (int i = 1; i <= 254; ++i) raw.push_back(static_cast<std::uint8_t>(i));
  Bytes out(255);
  std::size_t n = 0;
  EXPECT_EQ(gsp_cobs_encode(raw.data(), raw.size(), out.data(), out.size(), &n), GSP_OK);
  EXPECT_EQ(n, 255u);
  EXPECT_EQ(gsp_cobs_encode(raw.data(), raw.size(), out.data(), 254, &n), GSP_ERR_BUFFER_TOO_SMALL);
}

TEST(Cobs, RejectsMalformedInput) {
  cobs_decode({0x05, 0x11, 0x22}, GSP_ERR_BAD_COBS);        // code points past the end
  cobs_decode({0x03, 0x11, 0x00, 0x22}, GSP_ERR_BAD_COBS);  // zero inside a block
  cobs_decode({0x00}, GSP_ERR_BAD_COBS);                    // zero code
  cobs_decode({}, GSP_ERR_BAD_COBS);
}

TEST(Cobs, DecodesInPlace) {
  Bytes buffer = {0x03, 0x11, 0x22, 0x02, 0x33};
  std::size_t n = 0;
  ASSERT_EQ(gsp_cobs_decode(buffer.data(), buffer.size(), buffer.data(), buffer.size(), &n), GSP_OK);
  buffer.resize(n);
  EXPECT_EQ(buffer, (Bytes{0x11, 0x22, 0x00, 0x33}));
}

// ---- Golden vectors -------------------------------------------------------------------------------

nlohmann::json load_vectors() {
  std::ifstream file(std::string(GLUTESCOPE_SOURCE_DIR) + "/firmware-protocol/vectors/vectors.json");
  EXPECT_TRUE(file.good());
  return nlohmann::json::parse(file);
}

std::uint8_t type_code(const std::string& name) {
  if (name == "DEVICE_INFO") return GSP_MSG_DEVICE_INFO;
  if (name == "EMG_BLOCK") return GSP_MSG_EMG_BLOCK;
  if (name == "IMU_BLOCK") return GSP_MSG_IMU_BLOCK;
  if (name == "EVENT") return GSP_MSG_EVENT;
  if (name == "STATUS") return GSP_MSG_STATUS;
  if (name == "COMMAND") return GSP_MSG_COMMAND;
  if (name == "ACK") return GSP_MSG_ACK;
  ADD_FAILURE() << "unknown type " << name;
  return 0;
}

void copy_cstr(const std::string& s, char* to) {
  std::copy(s.begin(), s.end(), to);
  to[s.size()] = '\0';
}

// Builds the payload from the JSON meaning with the C encoders.
Bytes encode_payload(const std::string& type, const nlohmann::json& f) {
  Bytes payload(GSP_MAX_PAYLOAD_SIZE);
  std::size_t n = 0;
  gsp_result r = GSP_ERR_INVALID_ARGUMENT;
  if (type == "DEVICE_INFO") {
    auto info = std::make_unique<gsp_device_info>();
    info->protocol_minor = f["protocol_minor"];
    copy_cstr(f["firmware_version"], info->firmware_version);
    copy_cstr(f["serial_number"], info->serial_number);
    info->emg_format = f["emg_format"];
    info->emg_rate_hz = f["emg_rate_hz"].get<float>();
    info->emg_channel_count = static_cast<std::uint8_t>(f["emg"].size());
    for (std::size_t i = 0; i < f["emg"].size(); ++i) {
      const auto& c = f["emg"][i];
      copy_cstr(c["label"], info->emg[i].label);
      info->emg[i].kind = c["kind"];
      info->emg[i].gain = c["gain"].get<float>();
      info->emg[i].microvolts_per_count = c["microvolts_per_count"].get<float>();
    }
    info->imu_count = static_cast<std::uint8_t>(f["imu"].size());
    for (std::size_t i = 0; i < f["imu"].size(); ++i) {
      const auto& m = f["imu"][i];
      copy_cstr(m["label"], info->imu[i].label);
      info->imu[i].flags = m["flags"];
      info->imu[i].rate_hz = m["rate_hz"].get<float>();
      info->imu[i].accel_range_g = m["accel_range_g"].get<float>();
      info->imu[i].gyro_range_dps = m["gyro_range_dps"].get<float>();
      info->imu[i].accel_g_per_count = m["accel_g_per_count"].get<float>();
      info->imu[i].gyro_dps_per_count = m["gyro_dps_per_count"].get<float>();
      info->imu[i].mag_ut_per_count = m["mag_ut_per_count"].get<float>();
    }
    r = gsp_device_info_encode(info.get(), payload.data(), payload.size(), &n);
  } else if (type == "EMG_BLOCK") {
    gsp_emg_block b{f["first_sample"], f["sample_count"], f["channel_count"], f["format"], nullptr};
    const auto counts = f["counts"].get<std::vector<std::int32_t>>();
    r = gsp_emg_block_encode(&b, counts.data(), payload.data(), payload.size(), &n);
  } else if (type == "IMU_BLOCK") {
    gsp_imu_block b{f["sensor"], f["flags"], f["sample_count"], f["first_sample"], nullptr};
    const auto accel = f["accel"].get<std::vector<std::int16_t>>();
    const auto gyro = f["gyro"].get<std::vector<std::int16_t>>();
    const auto mag = f["mag"].get<std::vector<std::int16_t>>();
    r = gsp_imu_block_encode(&b, accel.data(), gyro.data(), mag.empty() ? nullptr : mag.data(),
                             payload.data(), payload.size(), &n);
  } else if (type == "EVENT") {
    gsp_event e{f["kind"], f["arg"], f["value"]};
    r = gsp_event_encode(&e, payload.data(), payload.size(), &n);
  } else if (type == "STATUS") {
    gsp_status s{f["battery_percent"], f["state"], f["battery_mv"], f["overflow_count"], f["uptime_s"]};
    r = gsp_status_encode(&s, payload.data(), payload.size(), &n);
  } else if (type == "COMMAND") {
    gsp_command c{f["command_id"], f["opcode"], f["target"], f["argument"]};
    r = gsp_command_encode(&c, payload.data(), payload.size(), &n);
  } else if (type == "ACK") {
    gsp_ack a{f["command_id"], f["opcode"], f["result"]};
    r = gsp_ack_encode(&a, payload.data(), payload.size(), &n);
  }
  EXPECT_EQ(r, GSP_OK) << type;
  payload.resize(n);
  return payload;
}

// Decodes the payload with the C decoders and checks every field against the JSON meaning.
void check_decoded(const std::string& type, const std::uint8_t* p, std::size_t n, const nlohmann::json& f) {
  if (type == "DEVICE_INFO") {
    auto info = std::make_unique<gsp_device_info>();
    ASSERT_EQ(gsp_device_info_decode(p, n, info.get()), GSP_OK);
    EXPECT_EQ(info->protocol_minor, f["protocol_minor"]);
    EXPECT_EQ(std::string(info->firmware_version), f["firmware_version"]);
    EXPECT_EQ(std::string(info->serial_number), f["serial_number"]);
    EXPECT_EQ(info->emg_format, f["emg_format"]);
    EXPECT_EQ(static_cast<double>(info->emg_rate_hz), f["emg_rate_hz"].get<double>());
    ASSERT_EQ(info->emg_channel_count, f["emg"].size());
    for (std::size_t i = 0; i < f["emg"].size(); ++i) {
      const auto& c = f["emg"][i];
      EXPECT_EQ(std::string(info->emg[i].label), c["label"]);
      EXPECT_EQ(info->emg[i].kind, c["kind"]);
      EXPECT_EQ(static_cast<double>(info->emg[i].gain), c["gain"].get<double>());
      EXPECT_EQ(static_cast<double>(info->emg[i].microvolts_per_count),
                c["microvolts_per_count"].get<double>());
    }
    ASSERT_EQ(info->imu_count, f["imu"].size());
    for (std::size_t i = 0; i < f["imu"].size(); ++i) {
      const auto& m = f["imu"][i];
      const gsp_imu_info& d = info->imu[i];
      EXPECT_EQ(std::string(d.label), m["label"]);
      EXPECT_EQ(d.flags, m["flags"]);
      EXPECT_EQ(static_cast<double>(d.rate_hz), m["rate_hz"].get<double>());
      EXPECT_EQ(static_cast<double>(d.accel_range_g), m["accel_range_g"].get<double>());
      EXPECT_EQ(static_cast<double>(d.gyro_range_dps), m["gyro_range_dps"].get<double>());
      EXPECT_EQ(static_cast<double>(d.accel_g_per_count), m["accel_g_per_count"].get<double>());
      EXPECT_EQ(static_cast<double>(d.gyro_dps_per_count), m["gyro_dps_per_count"].get<double>());
      EXPECT_EQ(static_cast<double>(d.mag_ut_per_count), m["mag_ut_per_count"].get<double>());
    }
  } else if (type == "EMG_BLOCK") {
    gsp_emg_block b{};
    ASSERT_EQ(gsp_emg_block_decode(p, n, &b), GSP_OK);
    EXPECT_EQ(b.first_sample, f["first_sample"]);
    EXPECT_EQ(b.sample_count, f["sample_count"]);
    EXPECT_EQ(b.channel_count, f["channel_count"]);
    EXPECT_EQ(b.format, f["format"]);
    const auto counts = f["counts"].get<std::vector<std::int32_t>>();
    for (std::size_t s = 0; s < b.sample_count; ++s) {
      for (std::size_t c = 0; c < b.channel_count; ++c) {
        EXPECT_EQ(gsp_emg_block_sample(&b, s, c), counts[s * b.channel_count + c]) << s << "," << c;
      }
    }
  } else if (type == "IMU_BLOCK") {
    gsp_imu_block b{};
    ASSERT_EQ(gsp_imu_block_decode(p, n, &b), GSP_OK);
    EXPECT_EQ(b.sensor, f["sensor"]);
    EXPECT_EQ(b.flags, f["flags"]);
    EXPECT_EQ(b.sample_count, f["sample_count"]);
    EXPECT_EQ(b.first_sample, f["first_sample"]);
    const auto accel = f["accel"].get<std::vector<std::int16_t>>();
    const auto gyro = f["gyro"].get<std::vector<std::int16_t>>();
    const auto mag = f["mag"].get<std::vector<std::int16_t>>();
    for (std::size_t s = 0; s < b.sample_count; ++s) {
      std::int16_t a[3], g[3], m[3];
      gsp_imu_block_sample(&b, s, a, g, m);
      for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(a[k], accel[3 * s + k]);
        EXPECT_EQ(g[k], gyro[3 * s + k]);
        EXPECT_EQ(m[k], mag.empty() ? 0 : mag[3 * s + k]);
      }
    }
  } else if (type == "EVENT") {
    gsp_event e{};
    ASSERT_EQ(gsp_event_decode(p, n, &e), GSP_OK);
    EXPECT_EQ(e.kind, f["kind"]);
    EXPECT_EQ(e.arg, f["arg"]);
    EXPECT_EQ(e.value, f["value"]);
  } else if (type == "STATUS") {
    gsp_status s{};
    ASSERT_EQ(gsp_status_decode(p, n, &s), GSP_OK);
    EXPECT_EQ(s.battery_percent, f["battery_percent"]);
    EXPECT_EQ(s.state, f["state"]);
    EXPECT_EQ(s.battery_mv, f["battery_mv"]);
    EXPECT_EQ(s.overflow_count, f["overflow_count"]);
    EXPECT_EQ(s.uptime_s, f["uptime_s"]);
  } else if (type == "COMMAND") {
    gsp_command c{};
    ASSERT_EQ(gsp_command_decode(p, n, &c), GSP_OK);
    EXPECT_EQ(c.command_id, f["command_id"]);
    EXPECT_EQ(c.opcode, f["opcode"]);
    EXPECT_EQ(c.target, f["target"]);
    EXPECT_EQ(c.argument, f["argument"]);
  } else if (type == "ACK") {
    gsp_ack a{};
    ASSERT_EQ(gsp_ack_decode(p, n, &a), GSP_OK);
    EXPECT_EQ(a.command_id, f["command_id"]);
    EXPECT_EQ(a.opcode, f["opcode"]);
    EXPECT_EQ(a.result, f["result"]);
  }
}

TEST(GoldenVectors, CoverEveryMessageType) {
  const auto doc = load_vectors();
  std::set<std::string> types;
  for (const auto& v : doc["vectors"]) types.insert(v["type"].get<std::string>());
  EXPECT_EQ(types, (std::set<std::string>{"DEVICE_INFO", "EMG_BLOCK", "IMU_BLOCK", "EVENT", "STATUS",
                                          "COMMAND", "ACK"}));
  EXPECT_EQ(doc["crc32c_check"]["crc"].get<std::uint32_t>(), 0xE3069283u);
}

TEST(GoldenVectors, Crc32cOfEverySingleByteValue) {
  const auto crcs = load_vectors()["crc32c_single_bytes"].get<std::vector<std::uint32_t>>();
  ASSERT_EQ(crcs.size(), 256u);
  for (std::size_t i = 0; i < 256; ++i) {
    const auto byte = static_cast<std::uint8_t>(i);
    EXPECT_EQ(gsp_crc32c(&byte, 1), crcs[i]) << "byte " << i;
  }
}

TEST(GoldenVectors, DecodeGivesTheFields) {
  const auto doc = load_vectors();  // keep the document alive for the loop
  for (const auto& v : doc["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const Bytes wire = from_hex(v["wire_hex"]);
    Bytes scratch(wire.size());
    gsp_header h{};
    const std::uint8_t* payload = nullptr;
    ASSERT_EQ(gsp_frame_decode(wire.data(), wire.size(), scratch.data(), scratch.size(), &h, &payload),
              GSP_OK);
    EXPECT_EQ(h.version, 1u);
    EXPECT_EQ(h.type, type_code(v["type"]));
    EXPECT_EQ(h.device_id, v["header"]["device_id"]);
    EXPECT_EQ(h.sequence, v["header"]["sequence"]);
    EXPECT_EQ(h.timestamp_us, v["header"]["timestamp_us"].get<std::uint64_t>());
    check_decoded(v["type"], payload, h.payload_length, v["fields"]);
  }
}

TEST(GoldenVectors, EncodeGivesTheWireBytes) {
  const auto doc = load_vectors();  // keep the document alive for the loop
  for (const auto& v : doc["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const Bytes payload = encode_payload(v["type"], v["fields"]);
    gsp_header h{};
    h.type = type_code(v["type"]);
    h.device_id = v["header"]["device_id"];
    h.sequence = v["header"]["sequence"];
    h.timestamp_us = v["header"]["timestamp_us"];
    Bytes wire(GSP_MAX_WIRE_SIZE);
    std::size_t n = 0;
    ASSERT_EQ(gsp_frame_encode(&h, payload.data(), payload.size(), wire.data(), wire.size(), &n), GSP_OK);
    wire.resize(n);
    EXPECT_EQ(wire, from_hex(v["wire_hex"]));
  }
}

gsp_result result_code(const std::string& name) {
  if (name == "OK") return GSP_OK;
  if (name == "BAD_CRC") return GSP_ERR_BAD_CRC;
  if (name == "TOO_SHORT") return GSP_ERR_TOO_SHORT;
  if (name == "BAD_LENGTH") return GSP_ERR_BAD_LENGTH;
  if (name == "BAD_COBS") return GSP_ERR_BAD_COBS;
  if (name == "UNSUPPORTED_VERSION") return GSP_ERR_UNSUPPORTED_VERSION;
  ADD_FAILURE() << "unknown result " << name;
  return GSP_ERR_INVALID_ARGUMENT;
}

TEST(GoldenVectors, InvalidFramesGiveTheirDistinctErrors) {
  const auto doc = load_vectors();
  for (const auto& v : doc["invalid"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const Bytes wire = from_hex(v["wire_hex"]);
    Bytes scratch(wire.size());
    gsp_header h{};
    const std::uint8_t* payload = nullptr;
    const gsp_result r =
        gsp_frame_decode(wire.data(), wire.size(), scratch.data(), scratch.size(), &h, &payload);
    EXPECT_EQ(r, result_code(v["error"])) << gsp_result_name(r);
    if (r == GSP_OK) {
      EXPECT_EQ(gsp_is_known_message_type(h.type), 0);
    }
  }
}

// The committed vectors.json is what generate.py writes today (no stale golden file).
TEST(GoldenVectors, CommittedFileMatchesGenerator) {
  const std::string command = std::string(GLUTESCOPE_SYSTEM_PYTHON) + " " + GLUTESCOPE_SOURCE_DIR +
                              "/firmware-protocol/vectors/generate.py --stdout";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ASSERT_TRUE(pipe);
  std::string generated;
  std::array<char, 4096> chunk{};
  std::size_t n = 0;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe.get())) > 0) generated.append(chunk.data(), n);
  std::ifstream file(std::string(GLUTESCOPE_SOURCE_DIR) + "/firmware-protocol/vectors/vectors.json");
  std::stringstream committed;
  committed << file.rdbuf();
  EXPECT_EQ(generated, committed.str());
}

// ---- SET_START / SET_STOP (PROTOCOL.md §4.4) -------------------------------------------------------

TEST(GoldenVectors, IncludeTheSetEvents) {
  // The three set vectors the spec's example names, with their meaning written out by hand from §4.4.
  std::map<std::string, std::array<std::uint32_t, 3>> expected = {
      {"event_set_start_bridge", {5, 0, 0}},    // SET_START, bridge, value 0
      {"event_set_start_mvc", {5, 2, 0x0000}},  // SET_START, mvc, gluteus_maximus (0) | left (0) << 8
      {"event_set_stop_mvc", {6, 2, 0x0000}},   // SET_STOP with its SET_START's arg and value
      {"event_set_start_mvc_gmed_right", {5, 2, 0x0101}},  // gluteus_medius (1) | right (1) << 8
  };
  const auto doc = load_vectors();
  for (const auto& v : doc["vectors"]) {
    const auto it = expected.find(v["name"].get<std::string>());
    if (it == expected.end()) continue;
    EXPECT_EQ(v["type"], "EVENT");
    EXPECT_EQ(v["fields"]["kind"].get<std::uint32_t>(), it->second[0]) << it->first;
    EXPECT_EQ(v["fields"]["arg"].get<std::uint32_t>(), it->second[1]) << it->first;
    EXPECT_EQ(v["fields"]["value"].get<std::uint32_t>(), it->second[2]) << it->first;
    expected.erase(it);
  }
  EXPECT_TRUE(expected.empty()) << expected.size() << " set vectors missing";
}

TEST(SetEvents, ValuePacksMuscleAndSideAsInTheSpec) {
  EXPECT_EQ(GSP_SET_VALUE(GSP_MUSCLE_GLUTEUS_MEDIUS, GSP_SIDE_RIGHT), 0x0101u);
  EXPECT_EQ(GSP_SET_VALUE(GSP_MUSCLE_OTHER, GSP_SIDE_MIDLINE), 0x02FFu);
  EXPECT_EQ(GSP_SET_VALUE_MUSCLE(0x0204u), 4u);
  EXPECT_EQ(GSP_SET_VALUE_SIDE(0x0204u), 2u);
  EXPECT_EQ(GSP_SET_VALUE_SIDE(0xABCD0304u), 3u);  // reserved high bits do not leak into the side
}

TEST(SetEvents, EncoderRejectsFieldsOutsideTheCodeTables) {
  Bytes p(GSP_EVENT_SIZE);
  std::size_t n = 0;
  auto encode = [&](std::uint8_t kind, std::uint16_t arg, std::uint32_t value) {
    const gsp_event e{kind, arg, value};
    return gsp_event_encode(&e, p.data(), p.size(), &n);
  };
  for (std::uint8_t kind : {std::uint8_t{GSP_EVENT_SET_START}, std::uint8_t{GSP_EVENT_SET_STOP}}) {
    EXPECT_EQ(encode(kind, 0, 0), GSP_OK);
    EXPECT_EQ(encode(kind, 1, 0), GSP_OK);
    EXPECT_EQ(encode(kind, 255, 0), GSP_OK);
    EXPECT_EQ(encode(kind, 2, 0x0304), GSP_OK);               // MVC tensor fasciae latae, side unknown
    EXPECT_EQ(encode(kind, 2, 0x00FF), GSP_OK);               // MVC of an "other" muscle, left
    EXPECT_EQ(encode(kind, 3, 0), GSP_ERR_INVALID_ARGUMENT);  // exercise 3 has no code
    EXPECT_EQ(encode(kind, 254, 0), GSP_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(encode(kind, 0, 0x0001), GSP_ERR_INVALID_ARGUMENT);   // bridge carries no muscle
    EXPECT_EQ(encode(kind, 1, 0x0100), GSP_ERR_INVALID_ARGUMENT);   // clamshell carries no side
    EXPECT_EQ(encode(kind, 2, 0x0005), GSP_ERR_INVALID_ARGUMENT);   // muscle 5 has no code
    EXPECT_EQ(encode(kind, 2, 0x0400), GSP_ERR_INVALID_ARGUMENT);   // side 4 has no code
    EXPECT_EQ(encode(kind, 2, 0x10000), GSP_ERR_INVALID_ARGUMENT);  // reserved bits must be sent as 0
  }
  // Other kinds keep their free-form fields.
  EXPECT_EQ(encode(GSP_EVENT_MARKER, 0x0205, 0x12345678), GSP_OK);
}

TEST(SetEvents, DecoderRejectsInconsistentSetEventsAndIgnoresReservedBits) {
  auto decode = [](std::uint8_t kind, std::uint16_t arg, std::uint32_t value, gsp_event* out) {
    // Payload bytes written by hand from the §4.4 layout, not by the encoder under test.
    const std::uint8_t p[8] = {kind,
                               0,
                               static_cast<std::uint8_t>(arg & 0xFF),
                               static_cast<std::uint8_t>(arg >> 8),
                               static_cast<std::uint8_t>(value & 0xFF),
                               static_cast<std::uint8_t>((value >> 8) & 0xFF),
                               static_cast<std::uint8_t>((value >> 16) & 0xFF),
                               static_cast<std::uint8_t>(value >> 24)};
    return gsp_event_decode(p, sizeof p, out);
  };
  gsp_event e{};
  ASSERT_EQ(decode(GSP_EVENT_SET_STOP, 2, 0x0201, &e), GSP_OK);
  EXPECT_EQ(e.kind, GSP_EVENT_SET_STOP);
  EXPECT_EQ(e.arg, 2);
  EXPECT_EQ(GSP_SET_VALUE_MUSCLE(e.value), GSP_MUSCLE_GLUTEUS_MEDIUS);
  EXPECT_EQ(GSP_SET_VALUE_SIDE(e.value), GSP_SIDE_MIDLINE);
  // Reserved bits 16-31 are ignored by receivers (a later minor revision may use them).
  EXPECT_EQ(decode(GSP_EVENT_SET_START, 2, 0xFFFF0000u, &e), GSP_OK);
  EXPECT_EQ(decode(GSP_EVENT_SET_START, 0, 0x00010000u, &e), GSP_OK);
  EXPECT_EQ(decode(GSP_EVENT_SET_START, 7, 0, &e), GSP_ERR_BAD_PAYLOAD);
  EXPECT_EQ(decode(GSP_EVENT_SET_START, 0, 0x0100, &e), GSP_ERR_BAD_PAYLOAD);
  EXPECT_EQ(decode(GSP_EVENT_SET_STOP, 2, 0x0006, &e), GSP_ERR_BAD_PAYLOAD);
  EXPECT_EQ(decode(GSP_EVENT_SET_STOP, 2, 0x0900, &e), GSP_ERR_BAD_PAYLOAD);
  // A kind this codec does not know decodes as it is; the host skips and counts it.
  ASSERT_EQ(decode(200, 0xFFFF, 0xFFFFFFFFu, &e), GSP_OK);
  EXPECT_EQ(e.kind, 200);
  EXPECT_FALSE(gsp_is_known_event_kind(7));
  EXPECT_FALSE(gsp_is_known_event_kind(200));
  for (std::uint8_t k = 0; k <= 6; ++k) EXPECT_TRUE(gsp_is_known_event_kind(k)) << int(k);
}

}  // namespace
