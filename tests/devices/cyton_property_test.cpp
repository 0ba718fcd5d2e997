// Property tests of the Cyton decoder, as tests/protocol/property_test.cpp has for protocol v1: any
// chunking gives identical output; garbage resynchronises at the next header+footer pair with every byte
// counted; every single-bit flip and every truncation is rejected or accounted for; counter gaps are exact
// lost-sample gaps, and a loss of 256 packets is invisible, as docs/DEVICES.md says.
// Streams are built with the emulator's packet encoder (tools/simulator), independent of the decoder.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "devices/capture_sink.hpp"
#include "devices/cyton_device.hpp"
#include "simulator/cyton_emulator.hpp"

namespace glutescope {
namespace {

using devices::CytonBoardState;
using devices::CytonDecoder;
using test::CaptureSink;

// Channel values that say which packet they came from; accelerometer in every 10th packet.
std::vector<std::uint8_t> make_stream(std::size_t packets, const std::set<std::size_t>& dropped = {},
                                      std::uint8_t first_counter = 0) {
  std::vector<std::uint8_t> stream;
  for (std::size_t k = 0; k < packets; ++k) {
    if (dropped.count(k) != 0) continue;
    std::array<std::int32_t, 8> ch{};
    for (std::size_t c = 0; c < 8; ++c) ch[c] = static_cast<std::int32_t>(k * 8 + c) * ((c % 2) ? -1 : 1);
    std::array<std::uint8_t, 6> aux{};
    if (k % 10 == 0) aux = {0x1F, 0x40, 0x00, static_cast<std::uint8_t>(k / 10 + 1), 0xFF, 0x38};
    const auto p = sim::encode_cyton_packet(static_cast<std::uint8_t>(first_counter + k), ch, aux);
    stream.insert(stream.end(), p.begin(), p.end());
  }
  return stream;
}

struct Result {
  CaptureSink sink;
  devices::DecoderCounters counters;
  CytonDecoder::CytonCounters cyton;
};

// Decodes `stream` in chunks of the given sizes (cycled); empty = one chunk.
std::unique_ptr<Result> decode(const std::vector<std::uint8_t>& stream, bool daisy = false,
                               const std::vector<std::size_t>& chunks = {}) {
  auto r = std::make_unique<Result>();
  auto state = std::make_shared<CytonBoardState>();
  state->daisy = daisy;
  CytonDecoder decoder(r->sink, state, 0.0);
  std::size_t at = 0;
  std::size_t i = 0;
  while (at < stream.size()) {
    const std::size_t n =
        chunks.empty() ? stream.size() : std::min(chunks[i++ % chunks.size()], stream.size() - at);
    decoder.feed(0, std::span<const std::uint8_t>(stream.data() + at, n),
                 1.0 + static_cast<double>(at) * 1e-6);
    at += n;
  }
  decoder.finish();
  r->counters = decoder.counters();
  r->cyton = decoder.cyton_counters();
  return r;
}

void expect_same(const Result& a, const Result& b) {
  EXPECT_EQ(a.sink.emg, b.sink.emg);
  EXPECT_EQ(a.sink.emg_index, b.sink.emg_index);
  EXPECT_EQ(a.sink.accel, b.sink.accel);
  EXPECT_EQ(a.sink.accel_index, b.sink.accel_index);
  EXPECT_EQ(a.sink.gaps.size(), b.sink.gaps.size());
  EXPECT_EQ(a.counters.packets, b.counters.packets);
  EXPECT_EQ(a.counters.garbage_bytes, b.counters.garbage_bytes);
  EXPECT_EQ(a.counters.lost_packets, b.counters.lost_packets);
  EXPECT_EQ(a.counters.emg_lost_samples, b.counters.emg_lost_samples);
}

TEST(CytonProperty, AnyChunkingGivesIdenticalOutput) {
  for (const bool daisy : {false, true}) {
    const auto stream = make_stream(700, {5, 6, 300, 301, 302});  // wraps the 8-bit counter twice
    const auto whole = decode(stream, daisy);
    ASSERT_FALSE(whole->sink.emg.empty());
    expect_same(*whole, *decode(stream, daisy, {1}));
    expect_same(*whole, *decode(stream, daisy, {32, 34, 33}));
    std::mt19937 rng(7);
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<std::size_t> sizes(50);
      for (auto& s : sizes) s = 1 + rng() % 200;
      expect_same(*whole, *decode(stream, daisy, sizes));
    }
  }
}

TEST(CytonProperty, CounterGapsAreExactLostSamplesAcrossTheWrap) {
  const std::set<std::size_t> dropped = {3, 254, 255, 256, 257, 600};
  const auto r = decode(make_stream(700, dropped));
  EXPECT_EQ(r->counters.emg_samples, 700 - dropped.size());
  EXPECT_EQ(r->counters.emg_lost_samples, dropped.size());
  EXPECT_EQ(r->counters.lost_packets, dropped.size());
  ASSERT_EQ(r->sink.gaps.size(), 3u + 1u);  // EMG gaps 3, 254-257, 600; accelerometer window 60
  std::vector<std::pair<std::uint64_t, std::uint64_t>> emg_gaps;
  for (const Gap& g : r->sink.gaps)
    if (g.stream == StreamKind::emg) emg_gaps.emplace_back(g.start_sample, g.count);
  EXPECT_EQ(emg_gaps, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{3, 1}, {254, 4}, {600, 1}}));
  // Every delivered row is the packet it claims to be.
  for (std::size_t row = 0; row < r->sink.emg_index.size(); ++row)
    EXPECT_EQ(r->sink.emg[row * 8], static_cast<std::int32_t>(r->sink.emg_index[row] * 8));
  // Accelerometer samples sit in their 10-packet windows: window 25 (packets 250-259) lost 254-257 but its
  // accelerometer packet 250 arrived; window 60 lost packet 600, its accelerometer packet: one gap.
  EXPECT_EQ(r->counters.imu_lost_samples[0], 1u);
  EXPECT_EQ(r->counters.imu_samples[0], 69u);
}

TEST(CytonProperty, ALossOf256PacketsIsInvisibleAndMoreLooksLikeFewer) {
  // docs/DEVICES.md: an 8-bit counter cannot tell a loss of d packets from d + 256.
  std::set<std::size_t> lost256;
  for (std::size_t k = 100; k < 356; ++k) lost256.insert(k);
  const auto r = decode(make_stream(500, lost256));
  EXPECT_EQ(r->counters.emg_lost_samples, 0u) << "the limitation this test documents";
  EXPECT_EQ(r->counters.emg_samples, 500u - 256u);
  std::set<std::size_t> lost300;
  for (std::size_t k = 100; k < 400; ++k) lost300.insert(k);
  EXPECT_EQ(decode(make_stream(500, lost300))->counters.emg_lost_samples, 300u - 256u);
}

TEST(CytonProperty, GarbageResynchronisesWithEveryByteCounted) {
  std::mt19937 rng(11);
  for (const bool daisy : {false, true}) {
    const auto clean = make_stream(400);
    std::vector<std::uint8_t> dirty;
    std::uint64_t inserted = 0;
    for (std::size_t k = 0; k < 400; ++k) {
      if (k % 37 == 5) {
        const std::size_t n = 1 + rng() % 80;
        for (std::size_t i = 0; i < n; ++i) {
          std::uint8_t b = 0;
          do b = static_cast<std::uint8_t>(rng());
          while (b == 0xA0);  // a header could start a false packet
          dirty.push_back(b);
        }
        inserted += n;
      }
      dirty.insert(dirty.end(), clean.begin() + static_cast<std::ptrdiff_t>(33 * k),
                   clean.begin() + static_cast<std::ptrdiff_t>(33 * (k + 1)));
    }
    const auto r = decode(dirty, daisy);
    const auto ref = decode(clean, daisy);
    EXPECT_EQ(r->counters.garbage_bytes, inserted);
    EXPECT_EQ(r->sink.emg, ref->sink.emg);
    EXPECT_EQ(r->sink.accel, ref->sink.accel);
    EXPECT_TRUE(r->sink.gaps.empty());
  }
}

// Byte conservation and sample conservation for a plain Cyton stream of `packets` packets.
void expect_accounted(const Result& r, const std::vector<std::uint8_t>& stream, std::size_t packets,
                      const std::string& what) {
  EXPECT_EQ(r.counters.garbage_bytes + 33 * r.counters.packets, stream.size()) << what;
  EXPECT_EQ(r.counters.emg_samples + r.counters.emg_lost_samples, packets) << what;
}

TEST(CytonProperty, EverySingleBitFlipIsRejectedOrAccountedFor) {
  // No checksum reaches the PC: a flip in a channel or aux byte is a wrong value nobody can see (said in
  // docs/DEVICES.md); a flip in header, counter or footer is rejected or counted; the totals always add up.
  // Flips in the first two packets and the last two are left out: the decoder locks on when packet 1's header
  // and footer confirm packet 0, so a flip there moves where the session starts (samples before the first one
  // cannot be missed), after a lost packet the decoder locks on again only when a next header confirms
  // the one after it, and a counter can only be judged by neighbours on both sides (the docs say so;
  // CytonProperty.FirstAndLastCountersCannotBeJudged shows it).
  constexpr std::size_t kPackets = 24;
  const auto clean = make_stream(kPackets);
  const auto ref = decode(clean);
  std::size_t value_changes = 0, rejected = 0;
  for (std::size_t bit = 2 * 33 * 8; bit < (kPackets - 2) * 33 * 8; ++bit) {
    auto flipped = clean;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    const auto r = decode(flipped);
    const std::string what = "bit " + std::to_string(bit) + " (byte " + std::to_string(bit % 264 / 8) +
                             " of packet " + std::to_string(bit / 264) + ")";
    expect_accounted(*r, flipped, kPackets, what);
    if (r->counters.emg_lost_samples == 0) {
      ++value_changes;
      // Same rows; at most one channel value of one row, or the accelerometer, differs.
      ASSERT_EQ(r->sink.emg.size(), ref->sink.emg.size()) << what;
      std::size_t diffs = 0;
      for (std::size_t i = 0; i < r->sink.emg.size(); ++i) diffs += r->sink.emg[i] != ref->sink.emg[i];
      EXPECT_LE(diffs, 1u) << what;
    } else {
      ++rejected;
      EXPECT_EQ(r->counters.emg_lost_samples, 1u) << what;
    }
  }
  EXPECT_GT(value_changes, 0u);
  EXPECT_GT(rejected, 0u);
}

TEST(CytonProperty, FirstAndLastCountersCannotBeJudged) {
  // The last packet's counter flipped (19 -> 19 ^ 0x10 = 3): no next packet to judge it, so its jump from 18
  // to 3 is taken as real: (3 - 18 - 1) mod 256 = 240 packets counted lost that never were.
  auto stream = make_stream(20);
  stream[19 * 33 + 1] ^= 0x10;
  const auto r = decode(stream);
  EXPECT_EQ(r->counters.emg_samples, 20u);
  EXPECT_EQ(r->counters.emg_lost_samples, 240u);
}

TEST(CytonProperty, EveryTruncationKeepsTheCompletePacketsBeforeIt) {
  constexpr std::size_t kPackets = 12;
  const auto clean = make_stream(kPackets);
  for (std::size_t cut = 0; cut <= clean.size(); ++cut) {
    const std::vector<std::uint8_t> part(clean.begin(), clean.begin() + static_cast<std::ptrdiff_t>(cut));
    const auto r = decode(part);
    const std::size_t complete = cut / 33;
    // The first packet is accepted once the next packet's header and footer confirm it.
    const std::size_t expected = complete >= 2 ? complete : 0;
    EXPECT_EQ(r->counters.emg_samples, expected) << "cut at " << cut;
    EXPECT_EQ(r->counters.emg_lost_samples, 0u) << "cut at " << cut;
    EXPECT_EQ(r->counters.garbage_bytes + 33 * r->counters.packets, cut) << "cut at " << cut;
  }
}

TEST(CytonProperty, DaisyHalvesWithoutAPartnerAreLostRowsNeverAveraged) {
  // Packets 0..41: packet 0 (Daisy) has no partner; rows are (1,2), (3,4), ... Dropping packet 7 (a board
  // half) loses row 3; dropping 12 (a Daisy half) loses row 5.
  const auto r = decode(make_stream(42, {7, 12}), true);
  EXPECT_EQ(r->counters.emg_samples, 20u - 2u);
  EXPECT_EQ(r->counters.emg_lost_samples, 2u);
  // Packet 0, packet 8 (partner 7 lost), packet 11 (partner 12 lost) and the last packet 41 (no 42).
  EXPECT_EQ(r->cyton.unpaired_halves, 4u);
  for (std::size_t row = 0; row < r->sink.emg_index.size(); ++row) {
    const auto k = r->sink.emg_index[row];
    EXPECT_EQ(r->sink.emg[row * 16], static_cast<std::int32_t>((2 * k + 1) * 8)) << "board half of row " << k;
    EXPECT_EQ(r->sink.emg[row * 16 + 8], static_cast<std::int32_t>((2 * k + 2) * 8))
        << "Daisy half of row " << k;
  }
}

TEST(CytonProperty, ManyBytesWithoutOnePacketIsAStreamError) {
  auto state = std::make_shared<CytonBoardState>();
  CaptureSink sink;
  CytonDecoder decoder(sink, state, 0.0);
  // 34-byte packets: the footer never lands where a Cyton's is.
  std::vector<std::uint8_t> wrong;
  for (std::size_t k = 0; k < 300; ++k) {
    const auto p = sim::encode_cyton_packet(static_cast<std::uint8_t>(k), {}, {});
    wrong.insert(wrong.end(), p.begin(), p.end() - 1);
    wrong.push_back(0);
    wrong.push_back(p.back());
  }
  decoder.feed(0, wrong, 1.0);
  ASSERT_TRUE(decoder.stream_error().has_value());
  EXPECT_EQ(decoder.stream_error()->rfind("cyton:", 0), 0u);
  EXPECT_LE(decoder.stream_error()->size(), 200u);
  // The sample number 0xA0 makes a 0xA0 ... 0xC0 pair every 256 packets; the packet after it is not one.
  EXPECT_EQ(decoder.counters().packets, 0u);
}

}  // namespace
}  // namespace glutescope
