#include "devices/device_decoder.hpp"

#include <fmt/core.h>

#include "devices/device_registry.hpp"

namespace glutescope::devices {

std::string printable_reply(std::string_view reply, std::size_t max_chars) {
  std::string line;
  bool space = false;
  for (const char ch : reply) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7F) {
      space = !line.empty();
      continue;
    }
    if (ch == ' ') {
      space = !line.empty();
      continue;
    }
    if (space) line += ' ';
    space = false;
    line += ch;
    if (line.size() >= max_chars) {
      line += "...";
      break;
    }
  }
  return line;
}

namespace {

std::string quoted_list(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& s : items) text += fmt::format("{}'{}'", text.empty() ? "" : " and ", s);
  return text;
}

}  // namespace

void DeviceDriver::check_reply(const CommandStep& step, std::string_view reply) {
  const std::string& device = description().name;
  for (const std::string& needed : step.reply_must_contain) {
    if (reply.find(needed) == std::string_view::npos) {
      throw DeviceReplyError(fmt::format("{}: {} answered '{}', expected {}", device, step.what,
                                         printable_reply(reply), quoted_list(step.reply_must_contain)));
    }
  }
  for (const std::string& refused : step.reply_must_not_contain) {
    if (reply.find(refused) != std::string_view::npos) {
      throw DeviceReplyError(fmt::format("{}: {} answered '{}', which must not contain '{}'", device,
                                         step.what, printable_reply(reply), refused));
    }
  }
}

}  // namespace glutescope::devices
