// Export of a session to formats other tools read: CSV (raw EMG in µV plus processed envelopes) and BDF+
// (24-bit, as EMG-BIDS recommends) with annotations for sets and reps, written through EDFlib.
//
// Both are written to a temporary name and renamed, so a failed export leaves nothing behind.
// BDF+: one signal per EMG channel, label = channel label (≤ 16 characters), dimension "uV", 1-s data records
// (the rate must be a whole number of Hz). Digital values are the stored counts when they fit 24 bits
// (physical range = ±2^23 counts × µV/count), otherwise the µV values requantised to 24 bits over the
// channel's range; either way the quantisation step is physical range / (2^24 − 1).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace glutescope::store {

class ExportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ExportAnnotation {
  double onset_s = 0.0;
  double duration_s = 0.0;  // 0 = an instant
  std::string text;
};

struct ExportInput {
  std::vector<std::string> labels;  // per channel
  double rate_hz = 0.0;
  std::vector<std::int32_t> counts;          // [samples x channels]
  std::vector<double> microvolts_per_count;  // per channel
  std::vector<double> envelope_uv;           // [samples x channels] or empty (CSV only)
  std::vector<ExportAnnotation> annotations;
  std::string subject_id;
};

void export_csv(const ExportInput& input, const std::filesystem::path& out);
void export_bdf(const ExportInput& input, const std::filesystem::path& out);

}  // namespace glutescope::store
