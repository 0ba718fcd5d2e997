// StreamDecoder and SequenceTracker: counters for every kind of reject, resynchronisation, no allocation
// per frame after warm-up, loss accounting over the u32 wrap.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "devices/stream_decoder.hpp"

// Counts heap allocations in this test binary (replaceable global operator new, [new.delete]). GCC 12
// sees malloc inside the replacement and std::free in delete as "mismatched" once both are inlined into
// standard containers; they are a matched pair here, so that one diagnostic is silenced for this file.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace glutescope::protocol {
namespace {

using Bytes = std::vector<std::uint8_t>;

void append(Bytes& stream, const Bytes& more) { stream.insert(stream.end(), more.begin(), more.end()); }

Bytes event_frame(std::uint32_t sequence, std::uint16_t marker) {
  return encode_event({3, sequence, 1000u * sequence}, gsp_event{GSP_EVENT_MARKER, marker, 0});
}

struct Collector {
  std::vector<std::uint32_t> sequences;
  std::vector<std::uint8_t> types;
  StreamDecoder decoder{[this](const Frame& f, const Message&) {
    sequences.push_back(f.header.sequence);
    types.push_back(f.header.type);
  }};
};

TEST(StreamDecoder, DeliversConsecutiveFramesWithTheirHeaders) {
  Collector c;
  Bytes stream;
  append(stream, event_frame(1, 10));
  append(stream, encode_status({3, 2, 5}, gsp_status{50, 1, 3700, 0, 12}));
  c.decoder.feed(stream);
  EXPECT_EQ(c.sequences, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(c.types, (std::vector<std::uint8_t>{GSP_MSG_EVENT, GSP_MSG_STATUS}));
  EXPECT_EQ(c.decoder.counters().frames_ok, 2u);
  EXPECT_EQ(c.decoder.counters().garbage_bytes, 0u);
  EXPECT_EQ(c.decoder.pending_bytes(), 0u);
}

TEST(StreamDecoder, IgnoresEmptyFramesBetweenDelimiters) {
  Collector c;
  Bytes stream = {0, 0, 0};
  append(stream, event_frame(1, 10));
  stream.push_back(0);
  c.decoder.feed(stream);
  EXPECT_EQ(c.decoder.counters().frames_ok, 1u);
  EXPECT_EQ(c.decoder.counters().garbage_bytes, 0u);
  EXPECT_EQ(c.decoder.counters().length_errors, 0u);
}

TEST(StreamDecoder, OverlongFrameIsDiscardedUntilTheNextDelimiter) {
  Collector c;
  Bytes stream(3000, 0x55);
  stream.push_back(0);
  append(stream, event_frame(7, 1));
  c.decoder.feed(stream);
  EXPECT_EQ(c.decoder.counters().too_long, 1u);
  EXPECT_EQ(c.decoder.counters().garbage_bytes, 3000u);
  EXPECT_EQ(c.sequences, (std::vector<std::uint32_t>{7}));
}

TEST(StreamDecoder, CountsEachKindOfReject) {
  Collector c;
  Bytes stream;
  Bytes bad_crc = event_frame(1, 1);
  bad_crc[5] ^= 0x10;  // header byte inside a COBS block, stays non-zero
  ASSERT_NE(bad_crc[5], 0);
  append(stream, bad_crc);
  append(stream, {0x05, 0x11, 0x22, 0x00});  // COBS code points past the end
  append(stream, {0x03, 0x11, 0x22, 0x00});  // too short to hold header + CRC
  // Intact frame, known type, malformed payload: an EMG block claiming 3 samples but carrying 1.
  const Bytes payload = {0, 0, 0, 0, 3, 0, 1, 0, 0x34, 0x12};
  append(stream, encode_frame(GSP_MSG_EMG_BLOCK, {3, 2, 0}, payload));
  append(stream, encode_frame(0x7E, {3, 3, 0}, payload));  // unknown type
  append(stream, event_frame(4, 1));
  c.decoder.feed(stream);
  const auto& k = c.decoder.counters();
  EXPECT_EQ(k.crc_errors, 1u);
  EXPECT_EQ(k.cobs_errors, 1u);
  EXPECT_EQ(k.length_errors, 1u);
  EXPECT_EQ(k.payload_errors, 1u);
  EXPECT_EQ(k.unknown_type, 1u);
  EXPECT_EQ(k.frames_ok, 1u);
  EXPECT_EQ(k.garbage_bytes, (bad_crc.size() - 1) + 3u + 3u);
  EXPECT_EQ(c.sequences, (std::vector<std::uint32_t>{4}));
}

TEST(StreamDecoder, ResetDropsAPartialFrame) {
  Collector c;
  const Bytes frame = event_frame(1, 1);
  c.decoder.feed(std::span(frame).first(10));
  EXPECT_EQ(c.decoder.pending_bytes(), 10u);
  c.decoder.reset();
  c.decoder.feed(frame);
  EXPECT_EQ(c.decoder.counters().garbage_bytes, 10u);
  EXPECT_EQ(c.decoder.counters().frames_ok, 1u);
}

TEST(StreamDecoder, NoAllocationPerFrameAfterWarmUp) {
  std::uint64_t samples = 0;
  StreamDecoder decoder([&samples](const Frame&, const Message& m) {
    if (const auto* emg = std::get_if<gsp_emg_block>(&m)) samples += emg->sample_count;
  });
  const std::vector<std::int32_t> counts(8 * 40, -123);
  Bytes stream;
  for (std::uint32_t i = 0; i < 200; ++i) {
    append(stream, encode_emg_block({1, i, i * 30000ull}, i * 40, 8, SampleFormat::int24, counts));
    append(stream, {0x42, 0x43, 0x00});  // garbage in between
  }
  decoder.feed(std::span(stream).first(stream.size() / 10));  // warm-up
  const std::size_t before = g_allocations.load();
  decoder.feed(std::span(stream).subspan(stream.size() / 10));
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(decoder.counters().frames_ok, 200u);
  EXPECT_EQ(samples, 200u * 40u);
}

TEST(SequenceTracker, CountsGapsDuplicatesAndLateFrames) {
  SequenceTracker t;
  using V = SequenceTracker::Verdict;
  EXPECT_EQ(t.observe(10), V::first);
  EXPECT_EQ(t.observe(11), V::in_order);
  EXPECT_EQ(t.observe(15), V::gap);  // 12, 13, 14 missing
  EXPECT_EQ(t.counters().lost, 3u);
  EXPECT_EQ(t.observe(13), V::late);
  EXPECT_EQ(t.counters().lost, 2u);
  EXPECT_EQ(t.counters().reordered, 1u);
  EXPECT_EQ(t.observe(13), V::duplicate);
  EXPECT_EQ(t.observe(15), V::duplicate);
  EXPECT_EQ(t.observe(11), V::duplicate);
  EXPECT_EQ(t.counters().duplicates, 3u);
  EXPECT_EQ(t.observe(16), V::in_order);
  EXPECT_EQ(t.counters().received, 8u);
  EXPECT_EQ(t.counters().lost, 2u);
}

TEST(SequenceTracker, CountsLossAcrossTheU32Wrap) {
  SequenceTracker t;
  t.observe(0xFFFFFFFDu);
  t.observe(0xFFFFFFFEu);
  EXPECT_EQ(t.observe(1u), SequenceTracker::Verdict::gap);  // 0xFFFFFFFF and 0 lost
  EXPECT_EQ(t.counters().lost, 2u);
  EXPECT_EQ(t.observe(0u), SequenceTracker::Verdict::late);
  EXPECT_EQ(t.observe(0xFFFFFFFFu), SequenceTracker::Verdict::late);
  EXPECT_EQ(t.counters().lost, 0u);
  EXPECT_EQ(t.expected(), 2u);
}

TEST(SequenceTracker, LargeJumpBackIsARestart) {
  SequenceTracker t;
  for (std::uint32_t s = 1000; s < 1010; ++s) t.observe(s);
  EXPECT_EQ(t.observe(0), SequenceTracker::Verdict::restart);
  EXPECT_EQ(t.observe(1), SequenceTracker::Verdict::in_order);
  EXPECT_EQ(t.counters().restarts, 1u);
  EXPECT_EQ(t.counters().lost, 0u);
}

TEST(SequenceTracker, GapWiderThanTheWindowStillCountsEveryLostFrame) {
  SequenceTracker t;
  t.observe(0);
  t.observe(1000);
  EXPECT_EQ(t.counters().lost, 999u);
  EXPECT_EQ(t.observe(990), SequenceTracker::Verdict::late);  // inside the 64-frame window
  EXPECT_EQ(t.counters().lost, 998u);
}

}  // namespace
}  // namespace glutescope::protocol
