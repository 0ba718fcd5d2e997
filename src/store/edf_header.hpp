// Checks the fixed header of an EDF, EDF+, BDF or BDF+ file byte by byte before EDFlib reads it, so that
// damage is reported by field name ("signal 3 'Fp1' digital maximum '99999999' is outside ...") rather
// than as "EDFlib error -3". Layout and rules: Kemp et al. 1992, "A simple format for exchange of
// digitized polygraphic recordings", Electroencephalogr. Clin. Neurophysiol. 82:391-393, and
// https://www.edfplus.info/specs/edf.html (the 256-byte main header, then 256 bytes per signal as ns
// consecutive entries per field); EDF+: Kemp & Olivan 2003, https://www.edfplus.info/specs/edfplus.html
// (printable US-ASCII only, "EDF+C"/"EDF+D" in the reserved field, dd.mm.yy / hh.mm.ss); BDF: BioSemi,
// https://www.biosemi.com/faq/file_format.htm (version byte 255 + "BIOSEMI", "24BIT", 3-byte samples).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace glutescope::store {

struct EdfHeaderSummary {
  bool bdf = false;                // 24-bit samples
  int signals = 0;                 // ns
  long long data_records = 0;      // -1 allowed by the spec while recording: rejected here
  std::uint64_t record_bytes = 0;  // bytes of one data record (all signals)
  std::uint64_t header_bytes = 0;  // 256 × (ns + 1)
};

// Header-only parse of `head` (at least the first 256 bytes; all 256 × (ns + 1) for the signal fields)
// of a file of `file_size` bytes. Throws ImportError "<source>: header field '<name>' ...: <problem>".
// Limits: 1 to 640 signals (EDFlib's EDFLIB_MAXSIGNALS), data records ≥ 1, record duration > 0 s and
// finite, 1 to 10^7 samples per record per signal, digital minimum < maximum within 16 (EDF) or 24 (BDF)
// bits, physical minimum ≠ maximum, both finite; the file holds at least the records the header states.
EdfHeaderSummary check_edf_header(std::span<const std::uint8_t> head, std::uint64_t file_size,
                                  const std::string& source);

// EDFlib's error code (edf_hdr_struct::filetype after a failed open) as words.
const char* edflib_error_text(int code) noexcept;

}  // namespace glutescope::store
