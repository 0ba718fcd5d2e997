#include "devices/trigno_protocol.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace glutescope::devices::trigno {

std::string command(std::string_view text) {
  std::string out(text);
  out += kTerminator;
  return out;
}

std::string_view reply_text(std::string_view reply) noexcept {
  const auto blank = [](char c) { return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\0'; };
  while (!reply.empty() && blank(reply.front())) reply.remove_prefix(1);
  while (!reply.empty() && blank(reply.back())) reply.remove_suffix(1);
  return reply;
}

std::optional<std::string> greeting_version(std::string_view reply) {
  const std::string_view text = reply_text(reply);
  if (text.substr(0, kGreetingPrefix.size()) != kGreetingPrefix) return std::nullopt;
  return std::string(reply_text(text.substr(kGreetingPrefix.size())));
}

std::optional<double> number_reply(std::string_view reply) {
  const std::string_view text = reply_text(reply);
  double value = 0.0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !(value > 0.0) || !std::isfinite(value))
    return std::nullopt;
  return value;
}

float read_float_le(const std::uint8_t* p) noexcept {
  const std::uint32_t bits = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
                             (std::uint32_t{p[3]} << 24);
  return std::bit_cast<float>(bits);
}

void write_float_le(float value, std::uint8_t* p) noexcept {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(bits >> (8 * i));
}

std::optional<std::int32_t> emg_count(float volts) noexcept {
  const double c = std::nearbyint(static_cast<double>(volts) / kEmgVoltsPerCount);
  if (!std::isfinite(c) || c < std::numeric_limits<std::int32_t>::min() ||
      c > std::numeric_limits<std::int32_t>::max())
    return std::nullopt;
  return static_cast<std::int32_t>(c);
}

std::optional<std::int16_t> acc_count(float g) noexcept {
  const double c = std::nearbyint(static_cast<double>(g) / kAccGPerCount);
  if (!std::isfinite(c) || c < std::numeric_limits<std::int16_t>::min() ||
      c > std::numeric_limits<std::int16_t>::max())
    return std::nullopt;
  return static_cast<std::int16_t>(c);
}

}  // namespace glutescope::devices::trigno
