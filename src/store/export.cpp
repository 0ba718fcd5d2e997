#include "store/export.hpp"
#include "store/import.hpp"

#include <edflib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/core.h>
#include <fmt/format.h>

namespace glutescope::store {
namespace {

std::filesystem::path temp_for(const std::filesystem::path& out) {
  return fmt::format("{}.tmp-{}", out.string(), ::getpid());
}

}  // namespace

void export_csv(const ExportInput& in, const std::filesystem::path& out) {
  const std::size_t ch = in.labels.size();
  if (ch == 0 || in.rate_hz <= 0)
    throw ExportError(fmt::format("{}: nothing to export (no EMG channels)", out.string()));
  const std::size_t rows = in.counts.size() / ch;
  const bool env = in.envelope_uv.size() == in.counts.size();
  const std::filesystem::path tmp = temp_for(out);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) throw ExportError(fmt::format("{}: cannot write", out.string()));
  fmt::memory_buffer buf;
  fmt::format_to(std::back_inserter(buf), "time_s");
  for (const auto& l : in.labels) fmt::format_to(std::back_inserter(buf), ",{}_uV", l);
  if (env) {
    for (const auto& l : in.labels) fmt::format_to(std::back_inserter(buf), ",{}_envelope_uV", l);
  }
  buf.push_back('\n');
  for (std::size_t r = 0; r < rows; ++r) {
    fmt::format_to(std::back_inserter(buf), "{}", static_cast<double>(r) / in.rate_hz);
    for (std::size_t c = 0; c < ch; ++c) {
      fmt::format_to(std::back_inserter(buf), ",{}", in.counts[r * ch + c] * in.microvolts_per_count[c]);
    }
    if (env) {
      for (std::size_t c = 0; c < ch; ++c)
        fmt::format_to(std::back_inserter(buf), ",{:.6g}", in.envelope_uv[r * ch + c]);
    }
    buf.push_back('\n');
    if (buf.size() > (1 << 20)) {
      std::fwrite(buf.data(), 1, buf.size(), f.get());
      buf.clear();
    }
  }
  std::fwrite(buf.data(), 1, buf.size(), f.get());
  const bool ok = std::fflush(f.get()) == 0 && std::ferror(f.get()) == 0;
  f.reset();
  if (!ok) {
    std::filesystem::remove(tmp);
    throw ExportError(fmt::format("{}: write failed (disk full?)", out.string()));
  }
  std::filesystem::rename(tmp, out);
}

void export_bdf(const ExportInput& in, const std::filesystem::path& out) {
  const std::size_t ch = in.labels.size();
  if (ch == 0) throw ExportError(fmt::format("{}: nothing to export (no EMG channels)", out.string()));
  const auto rate = static_cast<int>(std::lround(in.rate_hz));
  if (rate <= 0 || std::fabs(in.rate_hz - rate) > 1e-9) {
    throw ExportError(fmt::format("{}: BDF export needs a whole-number sample rate, the session has {} Hz",
                                  out.string(), in.rate_hz));
  }
  const std::size_t rows = in.counts.size() / ch;
  const std::filesystem::path tmp = temp_for(out);
  const int h = edfopen_file_writeonly(tmp.c_str(), EDFLIB_FILETYPE_BDFPLUS, static_cast<int>(ch));
  if (h < 0)
    throw ExportError(fmt::format("{}: cannot create the BDF file (EDFlib error {})", out.string(), h));
  bool ok = true;
  // The header keeps physical min/max in 8 characters; a limit that does not fit is rounded, and a reader
  // then rebuilds a scale and offset that shift every value (seen: 4 counts with ±8388607 · 0.1 µV). So the
  // limits are chosen to be written exactly: a symmetric digital range of ±999999 with the device's own
  // count (e.g. 0.1 µV → ±99999.9 µV), or, for larger counts, whole microvolts over ±999999 steps.
  constexpr int kDigMax = 999999, kDigMin = -kDigMax;
  std::vector<double> step(ch);  // µV per digital unit
  std::vector<bool> direct(ch);  // digital = stored count
  for (std::size_t c = 0; c < ch; ++c) {
    std::int32_t lo = 0, hi = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      lo = std::min(lo, in.counts[r * ch + c]);
      hi = std::max(hi, in.counts[r * ch + c]);
    }
    const double uvpc = in.microvolts_per_count[c];
    const double phys_if_direct = kDigMax * uvpc;
    // "-99999.9" is the longest one-decimal limit that fits 8 characters.
    direct[c] = lo >= kDigMin && hi <= kDigMax && phys_if_direct < 100000.0 &&
                std::fabs(phys_if_direct * 10.0 - std::round(phys_if_direct * 10.0)) < 1e-6;
    const double max_abs_uv =
        std::max(std::abs(static_cast<double>(lo)), std::abs(static_cast<double>(hi))) * uvpc;
    step[c] = direct[c] ? uvpc : std::max(1.0, std::ceil(max_abs_uv)) / kDigMax;
    const auto ic = static_cast<int>(c);
    ok = ok && edf_set_samplefrequency(h, ic, rate) == 0;
    ok = ok && edf_set_digital_maximum(h, ic, kDigMax) == 0 && edf_set_digital_minimum(h, ic, kDigMin) == 0;
    ok = ok && edf_set_physical_maximum(h, ic, kDigMax * step[c]) == 0;
    ok = ok && edf_set_physical_minimum(h, ic, kDigMin * step[c]) == 0;
    ok = ok && edf_set_label(h, ic, in.labels[c].substr(0, 16).c_str()) == 0;
    ok = ok && edf_set_physical_dimension(h, ic, "uV") == 0;
  }
  if (!in.subject_id.empty()) edf_set_patientcode(h, in.subject_id.c_str());
  // EDFlib expects one data record (1 s) at a time: each signal's `rate` samples in turn. The last record is
  // padded with zeros (BDF has whole records only; the true length is in the annotations' "recording end").
  std::vector<int> record(static_cast<std::size_t>(rate));
  const std::size_t records = (rows + static_cast<std::size_t>(rate) - 1) / static_cast<std::size_t>(rate);
  for (std::size_t k = 0; k < records && ok; ++k) {
    for (std::size_t c = 0; c < ch && ok; ++c) {
      for (std::size_t i = 0; i < record.size(); ++i) {
        const std::size_t r = k * record.size() + i;
        if (r >= rows) {
          record[i] = 0;
        } else if (direct[c]) {
          record[i] = in.counts[r * ch + c];
        } else {
          record[i] =
              static_cast<int>(std::lround(in.counts[r * ch + c] * in.microvolts_per_count[c] / step[c]));
        }
      }
      ok = edfwrite_digital_samples(h, record.data()) == 0;
    }
  }
  // The true length: readers (glutescope import among them) drop the zero padding of the last record.
  if (ok) {
    ok = edfwrite_annotation_utf8(h, std::llround(static_cast<double>(rows) / rate * 10000.0), -1,
                                  std::string(kRecordingEndAnnotation).c_str()) == 0;
  }
  for (const ExportAnnotation& a : in.annotations) {
    if (!ok) break;
    ok = edfwrite_annotation_utf8(h, std::llround(a.onset_s * 10000.0),
                                  a.duration_s > 0 ? std::llround(a.duration_s * 10000.0) : -1,
                                  a.text.c_str()) == 0;
  }
  ok = edfclose_file(h) == 0 && ok;
  if (!ok) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw ExportError(
        fmt::format("{}: writing the BDF file failed (disk full or invalid header value)", out.string()));
  }
  std::filesystem::rename(tmp, out);
}

}  // namespace glutescope::store
