/*
 * glutescope wire protocol v1: portable C99 codec (see ../PROTOCOL.md for the byte layout).
 *
 * Dependency-free: only <stdint.h>, <stddef.h> and <string.h> (memcpy/memset/memmove). No heap, no
 * global mutable state, no unaligned access: every multi-byte field is packed and unpacked byte by
 * byte in little-endian order, so the same code runs on nRF52 (Cortex-M4F), ESP32 and the host.
 * All functions are reentrant; buffers are provided by the caller.
 *
 * Frame on the wire:  COBS( header[18] | payload[payload_length] | crc32c[4] )  0x00
 *   header = version u8 | type u8 | device_id u16 | sequence u32 | timestamp_us u64 | payload_length u16
 *   crc32c = CRC-32C (Castagnoli) over header|payload, little-endian.
 */
#ifndef GLUTESCOPE_PROTOCOL_H
#define GLUTESCOPE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sizes ------------------------------------------------------------------------------------ */

/* Header byte 0: the major version; frames with another value are rejected. */
#define GSP_PROTOCOL_VERSION 1u
#define GSP_PROTOCOL_MINOR 0u /* carried in DEVICE_INFO; minor revisions only add (see PROTOCOL.md §7) */
#define GSP_HEADER_SIZE 18u
#define GSP_CRC_SIZE 4u
#define GSP_MAX_FRAME_SIZE 1024u /* unencoded header + payload + CRC, bytes */
#define GSP_MAX_PAYLOAD_SIZE (GSP_MAX_FRAME_SIZE - GSP_HEADER_SIZE - GSP_CRC_SIZE) /* 1002 */
/* Worst-case COBS output for n input bytes: n + 1 + floor(n / 254). */
#define GSP_COBS_MAX_ENCODED_SIZE(n) ((n) + 1u + (n) / 254u)
/* Largest frame on the wire, delimiter included: 1024 + 1 + 4 + 1 = 1030 bytes. */
#define GSP_MAX_WIRE_SIZE (GSP_COBS_MAX_ENCODED_SIZE(GSP_MAX_FRAME_SIZE) + 1u)
#define GSP_DELIMITER 0x00u

#define GSP_MAX_STRING_LENGTH 31u /* firmware version and serial number (UTF-8 bytes, no NUL on the wire) */
#define GSP_MAX_LABEL_LENGTH 15u  /* channel and IMU labels */
#define GSP_MAX_EMG_CHANNELS 16u
#define GSP_MAX_IMUS 4u

/* first_sample u32 | sample_count u16 | channel_count u8 | format u8 */
#define GSP_EMG_BLOCK_HEADER_SIZE 8u
#define GSP_IMU_BLOCK_HEADER_SIZE 8u /* sensor u8 | flags u8 | sample_count u16 | first_sample u32 */
#define GSP_EVENT_SIZE 8u
#define GSP_STATUS_SIZE 12u
#define GSP_COMMAND_SIZE 8u
#define GSP_ACK_SIZE 4u

/* ---- Enumerations (values are on the wire: append only) -------------------------------------- */

typedef enum {
  GSP_MSG_DEVICE_INFO = 0x01, /* device -> host */
  GSP_MSG_EMG_BLOCK = 0x02,   /* device -> host */
  GSP_MSG_IMU_BLOCK = 0x03,   /* device -> host */
  GSP_MSG_EVENT = 0x04,       /* device -> host */
  GSP_MSG_STATUS = 0x05,      /* device -> host */
  GSP_MSG_COMMAND = 0x10,     /* host -> device */
  GSP_MSG_ACK = 0x11          /* device -> host */
} gsp_message_type;

typedef enum {
  GSP_OK = 0,
  GSP_ERR_TOO_SHORT = 1,           /* fewer bytes than header + CRC */
  GSP_ERR_BAD_COBS = 2,            /* COBS structure broken (zero byte inside, code past the end) */
  GSP_ERR_BAD_CRC = 3,             /* CRC-32C mismatch */
  GSP_ERR_BAD_LENGTH = 4,          /* header payload_length disagrees with the frame size */
  GSP_ERR_UNSUPPORTED_VERSION = 5, /* header version != GSP_PROTOCOL_VERSION */
  GSP_ERR_TOO_LONG = 6,            /* frame or payload exceeds GSP_MAX_FRAME_SIZE / GSP_MAX_PAYLOAD_SIZE */
  GSP_ERR_BUFFER_TOO_SMALL = 7,    /* caller's output buffer cannot hold the result */
  GSP_ERR_BAD_PAYLOAD = 8,         /* message payload malformed (size, count, enum value) */
  GSP_ERR_INVALID_ARGUMENT = 9     /* encode input out of range (NULL, count, sample value) */
} gsp_result;

typedef enum { GSP_FORMAT_INT16 = 0, GSP_FORMAT_INT24 = 1 } gsp_sample_format;

typedef enum {
  GSP_CHANNEL_EMG = 0, /* bipolar surface EMG */
  GSP_CHANNEL_AUX = 1, /* other analog input (e.g. force sensor) */
  GSP_CHANNEL_TEST = 2 /* internal test signal */
} gsp_channel_kind;

typedef enum {
  GSP_EVENT_LEAD_OFF = 0,    /* arg = EMG channel index */
  GSP_EVENT_LEAD_ON = 1,     /* arg = EMG channel index */
  GSP_EVENT_BUTTON = 2,      /* arg = button id */
  GSP_EVENT_MARKER = 3,      /* arg = marker id */
  GSP_EVENT_BATTERY_LOW = 4, /* value = battery voltage, mV */
  GSP_EVENT_SET_START = 5,   /* arg = gsp_exercise; value = gsp_set_value(muscle, side) for MVC, else 0 */
  GSP_EVENT_SET_STOP = 6     /* same arg and value as the SET_START it closes */
} gsp_event_kind;

/* Codes of SET_START / SET_STOP (PROTOCOL.md §4.4); the same numbers as glutescope::Exercise, Muscle and
 * Side (src/core/montage.hpp). */
typedef enum {
  GSP_EXERCISE_BRIDGE = 0,
  GSP_EXERCISE_CLAMSHELL = 1,
  GSP_EXERCISE_MVC = 2, /* maximal voluntary contraction trial: value names the muscle and side */
  GSP_EXERCISE_OTHER = 255
} gsp_exercise;

typedef enum {
  GSP_MUSCLE_GLUTEUS_MAXIMUS = 0,
  GSP_MUSCLE_GLUTEUS_MEDIUS = 1,
  GSP_MUSCLE_ERECTOR_SPINAE_LUMBAR = 2,
  GSP_MUSCLE_BICEPS_FEMORIS = 3,
  GSP_MUSCLE_TENSOR_FASCIAE_LATAE = 4,
  GSP_MUSCLE_OTHER = 255
} gsp_muscle;

typedef enum { GSP_SIDE_LEFT = 0, GSP_SIDE_RIGHT = 1, GSP_SIDE_MIDLINE = 2, GSP_SIDE_UNKNOWN = 3 } gsp_side;

/* SET_START/STOP `value` of an MVC trial: muscle in bits 0-7, side in bits 8-15, bits 16-31 reserved (0). */
/* (Written without casts so that C++ users compile them cleanly at -Wold-style-cast.) */
#define GSP_SET_VALUE(muscle, side) (((muscle)&0xFFu) | (((side)&0xFFu) << 8u))
#define GSP_SET_VALUE_MUSCLE(value) ((value)&0xFFu)
#define GSP_SET_VALUE_SIDE(value) (((value) >> 8u) & 0xFFu)

typedef enum {
  GSP_CMD_START = 1,
  GSP_CMD_STOP = 2,
  GSP_CMD_SET_EMG_RATE = 3, /* argument = rate, Hz */
  GSP_CMD_SET_IMU_RATE = 4, /* target = IMU index or 0xFF for all; argument = rate, Hz */
  GSP_CMD_REQUEST_DEVICE_INFO = 5
} gsp_command_opcode;

typedef enum {
  GSP_ACK_OK = 0,
  GSP_ACK_UNKNOWN_COMMAND = 1,
  GSP_ACK_INVALID_ARGUMENT = 2,
  GSP_ACK_BUSY = 3, /* not allowed in the current state (e.g. rate change while streaming) */
  GSP_ACK_FAILED = 4
} gsp_ack_result;

#define GSP_IMU_FLAG_HAS_MAG 0x01u
#define GSP_IMU_TARGET_ALL 0xFFu
#define GSP_BATTERY_PERCENT_UNKNOWN 0xFFu
#define GSP_STATE_IDLE 0u
#define GSP_STATE_STREAMING 1u

/* ---- Frame header ----------------------------------------------------------------------------- */

typedef struct {
  uint8_t version; /* GSP_PROTOCOL_VERSION */
  uint8_t type;    /* gsp_message_type (unknown values are legal on the wire) */
  uint16_t device_id;
  uint32_t sequence;       /* +1 per frame over all message types, wraps at 2^32 */
  uint64_t timestamp_us;   /* device clock, µs; first sample for EMG/IMU blocks */
  uint16_t payload_length; /* bytes */
} gsp_header;

/* ---- Messages --------------------------------------------------------------------------------- */

typedef struct {
  char label[GSP_MAX_LABEL_LENGTH + 1]; /* NUL-terminated */
  uint8_t kind;                         /* gsp_channel_kind */
  float gain;                           /* amplifier gain, V/V */
  float microvolts_per_count;           /* ADC scale referred to the electrode */
} gsp_emg_channel_info;

typedef struct {
  char label[GSP_MAX_LABEL_LENGTH + 1];
  uint8_t flags; /* GSP_IMU_FLAG_HAS_MAG */
  float rate_hz;
  float accel_range_g;  /* full scale ± */
  float gyro_range_dps; /* full scale ± */
  float accel_g_per_count;
  float gyro_dps_per_count;
  float mag_ut_per_count; /* 0 when no magnetometer */
} gsp_imu_info;

typedef struct {
  uint8_t protocol_minor;
  char firmware_version[GSP_MAX_STRING_LENGTH + 1]; /* NUL-terminated */
  char serial_number[GSP_MAX_STRING_LENGTH + 1];
  uint8_t emg_format; /* gsp_sample_format */
  float emg_rate_hz;
  uint8_t emg_channel_count; /* <= GSP_MAX_EMG_CHANNELS */
  gsp_emg_channel_info emg[GSP_MAX_EMG_CHANNELS];
  uint8_t imu_count; /* <= GSP_MAX_IMUS */
  gsp_imu_info imu[GSP_MAX_IMUS];
} gsp_device_info;

/* EMG block. On decode, `samples` points into the payload ([sample_count x channel_count] packed
 * little-endian int16 or int24, row-major); read values with gsp_emg_block_sample(). */
typedef struct {
  uint32_t first_sample; /* per-stream index of the first sample, wraps at 2^32 */
  uint16_t sample_count;
  uint8_t channel_count;
  uint8_t format;         /* gsp_sample_format */
  const uint8_t* samples; /* decode output only */
} gsp_emg_block;

/* IMU block. On decode, `samples` points into the payload: per sample accel xyz, gyro xyz[, mag xyz]
 * as int16 LE; read with gsp_imu_block_sample(). */
typedef struct {
  uint8_t sensor; /* index into DEVICE_INFO's IMU list */
  uint8_t flags;  /* GSP_IMU_FLAG_HAS_MAG */
  uint16_t sample_count;
  uint32_t first_sample;  /* per-sensor sample index of the first sample, wraps at 2^32 */
  const uint8_t* samples; /* decode output only */
} gsp_imu_block;

typedef struct {
  uint8_t kind;   /* gsp_event_kind */
  uint16_t arg;   /* channel index, button id, marker id or exercise code (gsp_exercise) */
  uint32_t value; /* kind-specific (battery mV for BATTERY_LOW, GSP_SET_VALUE for MVC sets), else 0 */
} gsp_event;

typedef struct {
  uint8_t battery_percent; /* 0..100, GSP_BATTERY_PERCENT_UNKNOWN */
  uint8_t state;           /* GSP_STATE_IDLE / GSP_STATE_STREAMING */
  uint16_t battery_mv;
  uint32_t overflow_count; /* samples the device dropped since boot (its buffers were full) */
  uint32_t uptime_s;
} gsp_status;

typedef struct {
  uint16_t command_id; /* chosen by the host, echoed in ACK */
  uint8_t opcode;      /* gsp_command_opcode */
  uint8_t target;      /* IMU index for SET_IMU_RATE (GSP_IMU_TARGET_ALL), else 0 */
  uint32_t argument;   /* rate in Hz for SET_*_RATE, else 0 */
} gsp_command;

typedef struct {
  uint16_t command_id;
  uint8_t opcode; /* echo of the command's opcode */
  uint8_t result; /* gsp_ack_result */
} gsp_ack;

/* ---- Primitives ------------------------------------------------------------------------------- */

/* CRC-32C (Castagnoli; reflected poly 0x82F63B78, init and xorout 0xFFFFFFFF).
 * gsp_crc32c("123456789", 9) == 0xE3069283. To compute incrementally: crc = gsp_crc32c_update(0xFFFFFFFF,
 * ...) over each piece, then crc ^ 0xFFFFFFFF. */
uint32_t gsp_crc32c(const uint8_t* data, size_t length);
uint32_t gsp_crc32c_update(uint32_t state, const uint8_t* data, size_t length);

/* COBS (Cheshire & Baker 1999). Encode writes no delimiter. Returns GSP_OK and *out_length, or
 * GSP_ERR_BUFFER_TOO_SMALL. out must not overlap in. */
gsp_result gsp_cobs_encode(const uint8_t* in, size_t in_length, uint8_t* out, size_t out_capacity,
                           size_t* out_length);
/* Decode one COBS block (no delimiter). out may equal in (in-place decoding); out_capacity >=
 * in_length always suffices. GSP_ERR_BAD_COBS on a zero byte or a code pointing past the end. */
gsp_result gsp_cobs_decode(const uint8_t* in, size_t in_length, uint8_t* out, size_t out_capacity,
                           size_t* out_length);

/* ---- Frames ----------------------------------------------------------------------------------- */

/* Build a complete wire frame (COBS-encoded, trailing 0x00 included) from the header fields and a payload.
 * header->payload_length is ignored and replaced by payload_length; header->version is ignored and written
 * as GSP_PROTOCOL_VERSION. out_capacity >= GSP_MAX_WIRE_SIZE always suffices. */
gsp_result gsp_frame_encode(const gsp_header* header, const uint8_t* payload, size_t payload_length,
                            uint8_t* out, size_t out_capacity, size_t* out_length);

/* Decode one frame: `wire` holds the COBS bytes of exactly one frame, with or without its trailing 0x00.
 * Decodes into `scratch` (may equal `wire` for in-place decoding; scratch_capacity >= wire_length suffices).
 * On GSP_OK, *header is filled and *payload points into scratch (header->payload_length bytes).
 * Check order: TOO_LONG, BAD_COBS, TOO_SHORT, BAD_CRC, UNSUPPORTED_VERSION, BAD_LENGTH.
 * Unknown message types are NOT an error here (see gsp_is_known_message_type). */
gsp_result gsp_frame_decode(const uint8_t* wire, size_t wire_length, uint8_t* scratch,
                            size_t scratch_capacity, gsp_header* header, const uint8_t** payload);

int gsp_is_known_message_type(uint8_t type);
const char* gsp_result_name(gsp_result result);

/* ---- Messages: encode into a payload buffer, decode from a payload ------------------------------
 * Encoders return GSP_ERR_BUFFER_TOO_SMALL / GSP_ERR_INVALID_ARGUMENT; decoders return GSP_ERR_BAD_PAYLOAD
 * for malformed payloads. Decoders accept and ignore trailing bytes after the v1 fields (a later minor
 * revision may append fields; PROTOCOL.md §7). */

gsp_result gsp_device_info_encode(const gsp_device_info* info, uint8_t* payload, size_t capacity,
                                  size_t* length);
gsp_result gsp_device_info_decode(const uint8_t* payload, size_t length, gsp_device_info* info);
/* Bytes of the v1 fields of a payload of this type: a decoded payload longer than this came from a later
 * minor revision (appended fields). DEVICE_INFO needs its decoded struct; other types ignore `info`.
 * Returns 0 for unknown types and for EMG/IMU blocks (their data must fill the payload). */
size_t gsp_v1_payload_size(uint8_t type, const gsp_device_info* info);

/* counts: [sample_count x channel_count] row-major; every value must fit the format (int16 or int24). */
gsp_result gsp_emg_block_encode(const gsp_emg_block* block, const int32_t* counts, uint8_t* payload,
                                size_t capacity, size_t* length);
gsp_result gsp_emg_block_decode(const uint8_t* payload, size_t length, gsp_emg_block* block);
/* Sample `sample`, channel `channel` of a decoded block (sign-extended). No bounds check. */
int32_t gsp_emg_block_sample(const gsp_emg_block* block, size_t sample, size_t channel);
/* Largest sample_count that fits one frame for this channel count and format (0 for invalid input). */
uint16_t gsp_emg_max_samples(uint8_t channel_count, uint8_t format);

/* accel, gyro: [sample_count x 3]; mag: [sample_count x 3] when flags has GSP_IMU_FLAG_HAS_MAG, else ignored.
 */
gsp_result gsp_imu_block_encode(const gsp_imu_block* block, const int16_t* accel, const int16_t* gyro,
                                const int16_t* mag, uint8_t* payload, size_t capacity, size_t* length);
gsp_result gsp_imu_block_decode(const uint8_t* payload, size_t length, gsp_imu_block* block);
/* Sample `sample` of a decoded block; mag may be NULL; mag is zeroed when the block has none. */
void gsp_imu_block_sample(const gsp_imu_block* block, size_t sample, int16_t accel[3], int16_t gyro[3],
                          int16_t mag[3]);
uint16_t gsp_imu_max_samples(uint8_t flags);

/* Encode: GSP_ERR_INVALID_ARGUMENT for a SET_START/SET_STOP whose exercise, muscle or side code is not in
 * PROTOCOL.md §4.4, whose value is not 0 for a non-MVC exercise, or whose reserved value bits 16-31 are set.
 * Decode: GSP_ERR_BAD_PAYLOAD for such a SET_START/SET_STOP (reserved bits 16-31 ignored). Other kinds,
 * unknown ones included, decode as they are: a receiver skips and counts the kinds it does not know. */
gsp_result gsp_event_encode(const gsp_event* event, uint8_t* payload, size_t capacity, size_t* length);
gsp_result gsp_event_decode(const uint8_t* payload, size_t length, gsp_event* event);
/* 1 if `kind` is a kind this codec knows (LEAD_OFF .. SET_STOP), else 0. */
int gsp_is_known_event_kind(uint8_t kind);

gsp_result gsp_status_encode(const gsp_status* status, uint8_t* payload, size_t capacity, size_t* length);
gsp_result gsp_status_decode(const uint8_t* payload, size_t length, gsp_status* status);

gsp_result gsp_command_encode(const gsp_command* command, uint8_t* payload, size_t capacity, size_t* length);
gsp_result gsp_command_decode(const uint8_t* payload, size_t length, gsp_command* command);

gsp_result gsp_ack_encode(const gsp_ack* ack, uint8_t* payload, size_t capacity, size_t* length);
gsp_result gsp_ack_decode(const uint8_t* payload, size_t length, gsp_ack* ack);

#ifdef __cplusplus
}
#endif

#endif /* GLUTESCOPE_PROTOCOL_H */
