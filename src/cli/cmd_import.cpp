// glutescope import: CSV or EDF/BDF recordings of other systems into a session file (store/import.hpp).
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "store/import.hpp"

namespace glutescope::cli {

void add_import_command(CLI::App& app, int& exit_status) {
  struct Args {
    std::string csv, edf, xdf, emg_stream, motion_stream, marker_stream, montage, time_column, subject, out,
        exercise, events;
    double rate_hz = 0.0;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "import", "Import a CSV, EDF/BDF or XDF recording into a session file (docs/IMPORT.md)");
  auto* csv = cmd->add_option("--from-csv", a->csv, "Read this CSV file (header row of column names)");
  auto* edf = cmd->add_option("--from-edf", a->edf, "Read this EDF/EDF+/BDF/BDF+ file");
  auto* xdf = cmd->add_option("--from-xdf", a->xdf, "Read this XDF (LabRecorder) file");
  // Old spellings, hidden; kept for one release (docs/CLI.md): --csv read like export's --csv wrote.
  auto* old_csv = cmd->add_option("--csv", a->csv, "")->group("");
  auto* old_edf = cmd->add_option("--edf", a->edf, "")->group("");
  csv->excludes(edf)->excludes(old_csv)->excludes(old_edf);
  old_csv->excludes(edf)->excludes(old_edf);
  old_edf->excludes(edf);
  auto* old_xdf = cmd->add_option("--xdf", a->xdf, "")->group("");
  xdf->excludes(csv)->excludes(edf)->excludes(old_csv)->excludes(old_edf)->excludes(old_xdf);
  old_xdf->excludes(csv)->excludes(edf)->excludes(old_csv)->excludes(old_edf);
  cmd->add_option("--emg-stream", a->emg_stream,
                  "XDF: the EMG stream's name or type (default: the one stream of type EMG)");
  cmd->add_option("--motion-stream", a->motion_stream,
                  "XDF: read the montage's [[imu]]/[[angle]] channels from the stream of this name or type "
                  "(default: any numeric stream but the EMG; a label in two of them is refused)");
  cmd->add_option(
      "--marker-stream", a->marker_stream,
      "XDF: events from the string stream of this name or type only (default: every string stream)");
  cmd->add_option("--montage", a->montage,
                  "Import montage TOML: columns to muscles and sides (required for CSV)");
  auto* rate = cmd->add_option("--rate", a->rate_hz, "CSV sample rate (Hz)");
  auto* time = cmd->add_option("--time-column", a->time_column, "CSV column of uniform sample times (s)");
  rate->excludes(time);
  cmd->add_option("--subject", a->subject, "Pseudonymous subject code")->required();
  cmd->add_option("--out", a->out, "Output session file (.h5)")->required();
  cmd->add_flag("--force", a->force, "Replace an existing output file");
  cmd->add_option("--exercise", a->exercise,
                  "Without set events in the input: the whole recording is one set of bridge, clamshell or "
                  "other:NAME (docs/IMPORT.md)");
  cmd->add_option(
      "--events", a->events,
      "BIDS-style events TSV (onset, duration, trial_type) to add: sets, MVC trials, reps, notes");
  cmd->callback([a, rate, &exit_status] {
    store::ImportOptions o;
    o.montage = a->montage;
    o.time_column = a->time_column;
    if (rate->count() > 0) o.rate_hz = a->rate_hz;
    o.subject_id = a->subject;
    o.out = a->out;
    o.force = a->force;
    o.exercise = a->exercise;
    o.events_tsv = a->events;
    o.xdf_emg_stream = a->emg_stream;
    o.xdf_motion_stream = a->motion_stream;
    o.xdf_marker_stream = a->marker_stream;
    store::ImportSummary s;
    try {
      if (!a->csv.empty()) {
        o.input = a->csv;
        s = store::import_csv(o);
      } else if (!a->edf.empty()) {
        o.input = a->edf;
        s = store::import_edf(o);
      } else if (!a->xdf.empty()) {
        o.input = a->xdf;
        s = store::import_xdf(o);
      } else {
        throw UserError("import: give --from-csv FILE, --from-edf FILE or --from-xdf FILE", 1);
      }
    } catch (const store::ImportError& e) {
      throw UserError(e.what(), 1);
    }
    fmt::print("imported {} channels x {} samples at {} Hz into {}\n", s.channels, s.samples, s.rate_hz,
               a->out);
    for (const std::string& note : s.notes) fmt::print("  {}\n", note);
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
