#include "simulator/device_emulator.hpp"

#include "simulator/bitalino_emulator.hpp"
#include "simulator/trigno_emulator.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "simulator/cyton_emulator.hpp"

namespace glutescope::sim {
namespace {

std::uint64_t parse_number(std::string_view text, std::string_view option, std::string_view whole) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw std::invalid_argument(std::string(option) + ": '" + std::string(whole) +
                                "' is not a list of unsigned numbers");
  }
  return value;
}

template <typename F>
void for_each_item(std::string_view text, F&& f) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    f(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

const std::vector<EmulatorEntry>& emulators() {
  static const std::vector<EmulatorEntry> list = {
      {"cyton", &run_cyton_emulator},
      {"cyton-daisy", &run_cyton_daisy_emulator},
      {"bitalino", &run_bitalino_emulator},
      {"trigno", &run_trigno_emulator},
  };
  return list;
}

EmulatorMain find_emulator(std::string_view device) noexcept {
  const auto& list = emulators();
  const auto it =
      std::find_if(list.begin(), list.end(), [&](const EmulatorEntry& e) { return e.device == device; });
  return it == list.end() ? nullptr : it->run;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> parse_packet_ranges(std::string_view text,
                                                                         std::string_view option) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for_each_item(text, [&](std::string_view item) {
    const auto dash = item.find('-');
    const std::uint64_t first = parse_number(item.substr(0, dash), option, text);
    const std::uint64_t last =
        dash == std::string_view::npos ? first : parse_number(item.substr(dash + 1), option, text);
    if (last < first)
      throw std::invalid_argument(std::string(option) + ": range '" + std::string(item) +
                                  "' ends before it starts");
    ranges.emplace_back(first, last);
  });
  return ranges;
}

std::vector<std::pair<std::uint64_t, std::size_t>> parse_garbage_list(std::string_view text,
                                                                      std::string_view option) {
  std::vector<std::pair<std::uint64_t, std::size_t>> list;
  for_each_item(text, [&](std::string_view item) {
    const auto at = item.find('@');
    if (at == std::string_view::npos)
      throw std::invalid_argument(std::string(option) + ": expected N@PACKET, got '" + std::string(item) +
                                  "'");
    const std::uint64_t bytes = parse_number(item.substr(0, at), option, text);
    const std::uint64_t packet = parse_number(item.substr(at + 1), option, text);
    if (bytes == 0 || bytes > 1'000'000)
      throw std::invalid_argument(std::string(option) + ": 1..1000000 garbage bytes per injection");
    list.emplace_back(packet, static_cast<std::size_t>(bytes));
  });
  return list;
}

}  // namespace glutescope::sim
