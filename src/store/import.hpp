// Import of recordings made with other systems into a session file of format v1, so that `analyze`,
// `report` and `export` work on them (docs/ANALYSIS.md "Import").
//
// CSV: a header row of column names (or none: columns are then named "1", "2", ...), comma, semicolon, tab
// or whitespace separated; lines starting with '#' are skipped (BioSPPy "Simple Text Format"). The sample
// rate is given (rate_hz) or derived from a time column in seconds that must be uniform (±1 % of a period).
// EDF/EDF+/BDF/BDF+ via EDFlib: every signal at the rate of the first mapped signal.
//
// Import montage (TOML), one [[emg]] per imported column:
//   column = "VL"            CSV column name, or EDF signal label
//   label = "VL_R"           channel label in the session (default: the column name)
//   muscle = "other"         as docs/MONTAGE.md (gluteus_maximus, ..., other)
//   side = "right"           left, right, midline, unknown
//   site = "..."             optional electrode placement
//   unit = "uV"              CSV values' unit: "uV" (default), "mV", "V" or "counts"
//   microvolts_per_count = 1.0   only with unit = "counts"
// Values are stored as int32 counts at a per-channel resolution (µV per count). CSV: 10^e of the column's
// unit, e the finest digit any of its cells prints (scientific notation included), so every value is kept
// exactly; only a column whose range does not fit int32 at that resolution is rounded, and the import says
// so (ImportSummary::notes, the session's session_description). Details: store/csv_table.hpp,
// docs/ANALYSIS.md "CSV precision". Unit "counts" and EDF digital samples are kept exactly.
//
// Output is written to a temporary name and renamed: a failed import leaves no file behind.
// Errors (ImportError) name the file and the problem: missing column, non-numeric cell, non-uniform time...
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace glutescope::store {

class ImportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// EDF+/BDF+ annotation glutescope's export writes at the true end of the recording (the last data record
// is padded with zeros); import stops there.
inline constexpr std::string_view kRecordingEndAnnotation = "glutescope: recording end";

struct ImportOptions {
  std::filesystem::path input;    // CSV or EDF/BDF
  std::filesystem::path montage;  // import montage TOML (required for CSV, optional for EDF)
  std::optional<double> rate_hz;  // CSV: sample rate (Hz) ...
  std::string time_column;        // ... or a time column in seconds
  std::string subject_id;
  std::filesystem::path out;
  bool force = false;
  // One set over the whole recording when it has no set_start event: "bridge", "clamshell", "other:NAME".
  std::string exercise;
  // BIDS-style events TSV (onset, duration, trial_type) added to the session (import_motion.hpp).
  std::filesystem::path events_tsv;
  // XDF: the EMG stream, by name or type (empty: the one stream of type "EMG").
  std::string xdf_emg_stream;
  // XDF: the streams whose channels the montage's [[imu]]/[[angle]] columns name, and the string streams
  // whose samples become events, each by name or type (empty: every regular numeric stream other than the
  // EMG, and every string stream).
  std::string xdf_motion_stream;
  std::string xdf_marker_stream;
};

struct ImportSummary {
  std::size_t channels = 0;
  std::uint64_t samples = 0;
  double rate_hz = 0.0;
  std::vector<std::string> notes;  // e.g. a CSV column that could not be kept exactly (csv_table.hpp)
};

ImportSummary import_csv(const ImportOptions& options);
ImportSummary import_edf(const ImportOptions& options);
// XDF (docs/IMPORT.md "XDF"): the EMG stream's channels by the montage's [[emg]] columns (channel labels),
// [[imu]]/[[angle]] columns from the channels of the other numeric streams (or of --motion-stream's), string
// streams' (or --marker-stream's) samples as events; every stream's time stamps corrected by its clock
// offsets and placed on the EMG clock.
ImportSummary import_xdf(const ImportOptions& options);

}  // namespace glutescope::store
