/*
 * glutescope wire protocol v1: portable C99 codec. See glutescope_protocol.h and ../PROTOCOL.md.
 * Only memcpy/memset from <string.h> are used; every multi-byte field is written byte by byte (LE).
 */
#include "glutescope_protocol.h"

#include <string.h>

/* ---- Little-endian packing (no unaligned access) ------------------------------------------------ */

static void put_u16(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)(v & 0xFFu);
  p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v & 0xFFu);
  p[1] = (uint8_t)((v >> 8) & 0xFFu);
  p[2] = (uint8_t)((v >> 16) & 0xFFu);
  p[3] = (uint8_t)(v >> 24);
}

static void put_u64(uint8_t* p, uint64_t v) {
  put_u32(p, (uint32_t)(v & 0xFFFFFFFFu));
  put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get_u16(const uint8_t* p) {
  return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

static uint32_t get_u32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t* p) { return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32); }

/* float32 travels as its IEEE-754 bit pattern in a LE u32 (memcpy avoids aliasing and float maths). */
static void put_f32(uint8_t* p, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  put_u32(p, bits);
}

static float get_f32(const uint8_t* p) {
  uint32_t bits = get_u32(p);
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* ---- CRC-32C ------------------------------------------------------------------------------------
 * Castagnoli, Braeuer & Herrmann 1993; RFC 3720 §12.1 / Appendix B.4. Reflected poly 0x82F63B78.
 * Table: entry i = CRC of the byte i processed bitwise (8 shifts). Generated once by hand-checked
 * bitwise code; the check value test pins it. */
static const uint32_t crc32c_table[256] = {
    0x00000000u, 0xF26B8303u, 0xE13B70F7u, 0x1350F3F4u, 0xC79A971Fu, 0x35F1141Cu, 0x26A1E7E8u, 0xD4CA64EBu,
    0x8AD958CFu, 0x78B2DBCCu, 0x6BE22838u, 0x9989AB3Bu, 0x4D43CFD0u, 0xBF284CD3u, 0xAC78BF27u, 0x5E133C24u,
    0x105EC76Fu, 0xE235446Cu, 0xF165B798u, 0x030E349Bu, 0xD7C45070u, 0x25AFD373u, 0x36FF2087u, 0xC494A384u,
    0x9A879FA0u, 0x68EC1CA3u, 0x7BBCEF57u, 0x89D76C54u, 0x5D1D08BFu, 0xAF768BBCu, 0xBC267848u, 0x4E4DFB4Bu,
    0x20BD8EDEu, 0xD2D60DDDu, 0xC186FE29u, 0x33ED7D2Au, 0xE72719C1u, 0x154C9AC2u, 0x061C6936u, 0xF477EA35u,
    0xAA64D611u, 0x580F5512u, 0x4B5FA6E6u, 0xB93425E5u, 0x6DFE410Eu, 0x9F95C20Du, 0x8CC531F9u, 0x7EAEB2FAu,
    0x30E349B1u, 0xC288CAB2u, 0xD1D83946u, 0x23B3BA45u, 0xF779DEAEu, 0x05125DADu, 0x1642AE59u, 0xE4292D5Au,
    0xBA3A117Eu, 0x4851927Du, 0x5B016189u, 0xA96AE28Au, 0x7DA08661u, 0x8FCB0562u, 0x9C9BF696u, 0x6EF07595u,
    0x417B1DBCu, 0xB3109EBFu, 0xA0406D4Bu, 0x522BEE48u, 0x86E18AA3u, 0x748A09A0u, 0x67DAFA54u, 0x95B17957u,
    0xCBA24573u, 0x39C9C670u, 0x2A993584u, 0xD8F2B687u, 0x0C38D26Cu, 0xFE53516Fu, 0xED03A29Bu, 0x1F682198u,
    0x5125DAD3u, 0xA34E59D0u, 0xB01EAA24u, 0x42752927u, 0x96BF4DCCu, 0x64D4CECFu, 0x77843D3Bu, 0x85EFBE38u,
    0xDBFC821Cu, 0x2997011Fu, 0x3AC7F2EBu, 0xC8AC71E8u, 0x1C661503u, 0xEE0D9600u, 0xFD5D65F4u, 0x0F36E6F7u,
    0x61C69362u, 0x93AD1061u, 0x80FDE395u, 0x72966096u, 0xA65C047Du, 0x5437877Eu, 0x4767748Au, 0xB50CF789u,
    0xEB1FCBADu, 0x197448AEu, 0x0A24BB5Au, 0xF84F3859u, 0x2C855CB2u, 0xDEEEDFB1u, 0xCDBE2C45u, 0x3FD5AF46u,
    0x7198540Du, 0x83F3D70Eu, 0x90A324FAu, 0x62C8A7F9u, 0xB602C312u, 0x44694011u, 0x5739B3E5u, 0xA55230E6u,
    0xFB410CC2u, 0x092A8FC1u, 0x1A7A7C35u, 0xE811FF36u, 0x3CDB9BDDu, 0xCEB018DEu, 0xDDE0EB2Au, 0x2F8B6829u,
    0x82F63B78u, 0x709DB87Bu, 0x63CD4B8Fu, 0x91A6C88Cu, 0x456CAC67u, 0xB7072F64u, 0xA457DC90u, 0x563C5F93u,
    0x082F63B7u, 0xFA44E0B4u, 0xE9141340u, 0x1B7F9043u, 0xCFB5F4A8u, 0x3DDE77ABu, 0x2E8E845Fu, 0xDCE5075Cu,
    0x92A8FC17u, 0x60C37F14u, 0x73938CE0u, 0x81F80FE3u, 0x55326B08u, 0xA759E80Bu, 0xB4091BFFu, 0x466298FCu,
    0x1871A4D8u, 0xEA1A27DBu, 0xF94AD42Fu, 0x0B21572Cu, 0xDFEB33C7u, 0x2D80B0C4u, 0x3ED04330u, 0xCCBBC033u,
    0xA24BB5A6u, 0x502036A5u, 0x4370C551u, 0xB11B4652u, 0x65D122B9u, 0x97BAA1BAu, 0x84EA524Eu, 0x7681D14Du,
    0x2892ED69u, 0xDAF96E6Au, 0xC9A99D9Eu, 0x3BC21E9Du, 0xEF087A76u, 0x1D63F975u, 0x0E330A81u, 0xFC588982u,
    0xB21572C9u, 0x407EF1CAu, 0x532E023Eu, 0xA145813Du, 0x758FE5D6u, 0x87E466D5u, 0x94B49521u, 0x66DF1622u,
    0x38CC2A06u, 0xCAA7A905u, 0xD9F75AF1u, 0x2B9CD9F2u, 0xFF56BD19u, 0x0D3D3E1Au, 0x1E6DCDEEu, 0xEC064EEDu,
    0xC38D26C4u, 0x31E6A5C7u, 0x22B65633u, 0xD0DDD530u, 0x0417B1DBu, 0xF67C32D8u, 0xE52CC12Cu, 0x1747422Fu,
    0x49547E0Bu, 0xBB3FFD08u, 0xA86F0EFCu, 0x5A048DFFu, 0x8ECEE914u, 0x7CA56A17u, 0x6FF599E3u, 0x9D9E1AE0u,
    0xD3D3E1ABu, 0x21B862A8u, 0x32E8915Cu, 0xC083125Fu, 0x144976B4u, 0xE622F5B7u, 0xF5720643u, 0x07198540u,
    0x590AB964u, 0xAB613A67u, 0xB831C993u, 0x4A5A4A90u, 0x9E902E7Bu, 0x6CFBAD78u, 0x7FAB5E8Cu, 0x8DC0DD8Fu,
    0xE330A81Au, 0x115B2B19u, 0x020BD8EDu, 0xF0605BEEu, 0x24AA3F05u, 0xD6C1BC06u, 0xC5914FF2u, 0x37FACCF1u,
    0x69E9F0D5u, 0x9B8273D6u, 0x88D28022u, 0x7AB90321u, 0xAE7367CAu, 0x5C18E4C9u, 0x4F48173Du, 0xBD23943Eu,
    0xF36E6F75u, 0x0105EC76u, 0x12551F82u, 0xE03E9C81u, 0x34F4F86Au, 0xC69F7B69u, 0xD5CF889Du, 0x27A40B9Eu,
    0x79B737BAu, 0x8BDCB4B9u, 0x988C474Du, 0x6AE7C44Eu, 0xBE2DA0A5u, 0x4C4623A6u, 0x5F16D052u, 0xAD7D5351u};

uint32_t gsp_crc32c_update(uint32_t state, const uint8_t* data, size_t length) {
  size_t i;
  for (i = 0; i < length; ++i) {
    state = crc32c_table[(state ^ data[i]) & 0xFFu] ^ (state >> 8);
  }
  return state;
}

uint32_t gsp_crc32c(const uint8_t* data, size_t length) {
  return gsp_crc32c_update(0xFFFFFFFFu, data, length) ^ 0xFFFFFFFFu;
}

/* ---- COBS (Cheshire & Baker, IEEE/ACM Trans. Networking 7(2), 1999) ----------------------------
 * Streaming encoder so a frame can be encoded from several pieces (header, payload, CRC) without an
 * intermediate buffer. `code_pos` is where the current block's code byte goes. */
typedef struct {
  uint8_t* out;
  size_t capacity;
  size_t pos;
  size_t code_pos;
  uint8_t code;
  int overflow;
} cobs_encoder;

static void cobs_begin(cobs_encoder* e, uint8_t* out, size_t capacity) {
  e->out = out;
  e->capacity = capacity;
  e->code_pos = 0;
  e->pos = 1;
  e->code = 1;
  e->overflow = 0;
}

/* The slot for the next code byte is only reserved here; it is checked against the capacity when
 * written, so an output that exactly fills the buffer (after dropping a final empty block) succeeds. */
static void cobs_close_block(cobs_encoder* e) {
  if (e->code_pos >= e->capacity) {
    e->overflow = 1;
  } else if (!e->overflow) {
    e->out[e->code_pos] = e->code;
  }
  e->code_pos = e->pos;
  e->pos += 1u;
  e->code = 1;
}

static void cobs_put(cobs_encoder* e, const uint8_t* data, size_t length) {
  size_t i;
  for (i = 0; i < length; ++i) {
    if (data[i] == 0u) {
      cobs_close_block(e);
    } else {
      if (e->pos >= e->capacity) {
        e->overflow = 1;
      } else if (!e->overflow) {
        e->out[e->pos] = data[i];
      }
      e->pos += 1u;
      e->code += 1u;
      if (e->code == 0xFFu) {
        cobs_close_block(e);
      }
    }
  }
}

/* Finishes the last block. A trailing block after exactly 254 non-zero bytes is the empty block "01",
 * which the standard allows to be dropped: we drop it so the output is the minimal encoding. Returns
 * the encoded length, or 0 on overflow. */
static size_t cobs_end(cobs_encoder* e, int last_block_was_full) {
  if (last_block_was_full && e->code == 1u) {
    /* code_pos was reserved for a block that never got data: drop it. */
    e->pos = e->code_pos;
    return e->overflow ? 0u : e->pos;
  }
  if (e->overflow || e->code_pos >= e->capacity) {
    return 0u;
  }
  e->out[e->code_pos] = e->code;
  return e->pos;
}

gsp_result gsp_cobs_encode(const uint8_t* in, size_t in_length, uint8_t* out, size_t out_capacity,
                           size_t* out_length) {
  cobs_encoder e;
  size_t n;
  int full;
  if ((in == NULL && in_length > 0u) || out == NULL || out_length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  cobs_begin(&e, out, out_capacity);
  cobs_put(&e, in, in_length);
  /* The last block closed because it reached 254 data bytes (not because of a zero). */
  full = in_length > 0u && in[in_length - 1u] != 0u && e.code == 1u;
  n = cobs_end(&e, full);
  if (n == 0u) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  *out_length = n;
  return GSP_OK;
}

gsp_result gsp_cobs_decode(const uint8_t* in, size_t in_length, uint8_t* out, size_t out_capacity,
                           size_t* out_length) {
  size_t read = 0;
  size_t write = 0;
  if ((in == NULL && in_length > 0u) || out == NULL || out_length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (in_length == 0u) {
    return GSP_ERR_BAD_COBS;
  }
  while (read < in_length) {
    uint8_t code = in[read];
    size_t i;
    if (code == 0u) {
      return GSP_ERR_BAD_COBS;
    }
    if (read + code > in_length) {
      return GSP_ERR_BAD_COBS;
    }
    read += 1u;
    for (i = 1; i < code; ++i) {
      uint8_t byte = in[read];
      if (byte == 0u) {
        return GSP_ERR_BAD_COBS;
      }
      if (write >= out_capacity) {
        return GSP_ERR_BUFFER_TOO_SMALL;
      }
      out[write++] = byte; /* write <= read always, so in-place decoding is safe */
      read += 1u;
    }
    /* A block shorter than 254 data bytes stands for "data, then a zero", except at the very end. */
    if (code != 0xFFu && read < in_length) {
      if (write >= out_capacity) {
        return GSP_ERR_BUFFER_TOO_SMALL;
      }
      out[write++] = 0u;
    }
  }
  *out_length = write;
  return GSP_OK;
}

/* ---- Frames ------------------------------------------------------------------------------------ */

static void pack_header(const gsp_header* h, uint16_t payload_length, uint8_t* p) {
  p[0] = (uint8_t)GSP_PROTOCOL_VERSION;
  p[1] = h->type;
  put_u16(p + 2, h->device_id);
  put_u32(p + 4, h->sequence);
  put_u64(p + 8, h->timestamp_us);
  put_u16(p + 16, payload_length);
}

gsp_result gsp_frame_encode(const gsp_header* header, const uint8_t* payload, size_t payload_length,
                            uint8_t* out, size_t out_capacity, size_t* out_length) {
  uint8_t head[GSP_HEADER_SIZE];
  uint8_t crc_bytes[GSP_CRC_SIZE];
  uint32_t crc;
  cobs_encoder e;
  size_t n;
  if (header == NULL || out == NULL || out_length == NULL || (payload == NULL && payload_length > 0u)) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (payload_length > GSP_MAX_PAYLOAD_SIZE) {
    return GSP_ERR_TOO_LONG;
  }
  pack_header(header, (uint16_t)payload_length, head);
  crc = gsp_crc32c_update(0xFFFFFFFFu, head, sizeof head);
  if (payload_length > 0u) {
    crc = gsp_crc32c_update(crc, payload, payload_length);
  }
  put_u32(crc_bytes, crc ^ 0xFFFFFFFFu);

  cobs_begin(&e, out, out_capacity);
  cobs_put(&e, head, sizeof head);
  if (payload_length > 0u) {
    cobs_put(&e, payload, payload_length);
  }
  cobs_put(&e, crc_bytes, sizeof crc_bytes);
  n = cobs_end(&e, crc_bytes[3] != 0u && e.code == 1u);
  if (n == 0u || n >= out_capacity) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  out[n] = GSP_DELIMITER;
  *out_length = n + 1u;
  return GSP_OK;
}

gsp_result gsp_frame_decode(const uint8_t* wire, size_t wire_length, uint8_t* scratch,
                            size_t scratch_capacity, gsp_header* header, const uint8_t** payload) {
  size_t raw_length = 0;
  gsp_result r;
  uint32_t crc_expected;
  uint16_t payload_length;
  if (wire == NULL || scratch == NULL || header == NULL || payload == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (wire_length > 0u && wire[wire_length - 1u] == GSP_DELIMITER) {
    wire_length -= 1u;
  }
  if (wire_length > GSP_COBS_MAX_ENCODED_SIZE(GSP_MAX_FRAME_SIZE)) {
    return GSP_ERR_TOO_LONG;
  }
  if (wire_length == 0u) {
    return GSP_ERR_TOO_SHORT;
  }
  r = gsp_cobs_decode(wire, wire_length, scratch, scratch_capacity, &raw_length);
  if (r != GSP_OK) {
    return r;
  }
  if (raw_length < GSP_HEADER_SIZE + GSP_CRC_SIZE) {
    return GSP_ERR_TOO_SHORT;
  }
  if (raw_length > GSP_MAX_FRAME_SIZE) {
    return GSP_ERR_TOO_LONG;
  }
  crc_expected = get_u32(scratch + raw_length - GSP_CRC_SIZE);
  if (gsp_crc32c(scratch, raw_length - GSP_CRC_SIZE) != crc_expected) {
    return GSP_ERR_BAD_CRC;
  }
  if (scratch[0] != GSP_PROTOCOL_VERSION) {
    return GSP_ERR_UNSUPPORTED_VERSION;
  }
  payload_length = get_u16(scratch + 16);
  if ((size_t)payload_length != raw_length - GSP_HEADER_SIZE - GSP_CRC_SIZE) {
    return GSP_ERR_BAD_LENGTH;
  }
  header->version = scratch[0];
  header->type = scratch[1];
  header->device_id = get_u16(scratch + 2);
  header->sequence = get_u32(scratch + 4);
  header->timestamp_us = get_u64(scratch + 8);
  header->payload_length = payload_length;
  *payload = scratch + GSP_HEADER_SIZE;
  return GSP_OK;
}

int gsp_is_known_message_type(uint8_t type) {
  switch (type) {
    case GSP_MSG_DEVICE_INFO:
    case GSP_MSG_EMG_BLOCK:
    case GSP_MSG_IMU_BLOCK:
    case GSP_MSG_EVENT:
    case GSP_MSG_STATUS:
    case GSP_MSG_COMMAND:
    case GSP_MSG_ACK:
      return 1;
    default:
      return 0;
  }
}

const char* gsp_result_name(gsp_result result) {
  switch (result) {
    case GSP_OK:
      return "ok";
    case GSP_ERR_TOO_SHORT:
      return "frame too short";
    case GSP_ERR_BAD_COBS:
      return "bad COBS encoding";
    case GSP_ERR_BAD_CRC:
      return "bad CRC-32C";
    case GSP_ERR_BAD_LENGTH:
      return "payload length mismatch";
    case GSP_ERR_UNSUPPORTED_VERSION:
      return "unsupported protocol version";
    case GSP_ERR_TOO_LONG:
      return "frame too long";
    case GSP_ERR_BUFFER_TOO_SMALL:
      return "buffer too small";
    case GSP_ERR_BAD_PAYLOAD:
      return "malformed payload";
    case GSP_ERR_INVALID_ARGUMENT:
      return "invalid argument";
  }
  return "unknown result";
}

/* ---- DEVICE_INFO ------------------------------------------------------------------------------- */

/* Length-prefixed string: u8 length, then the bytes (no NUL). */
static size_t bounded_strlen(const char* s, size_t max) {
  size_t n = 0;
  while (n <= max && s[n] != '\0') {
    ++n;
  }
  return n;
}

static int put_string(uint8_t* payload, size_t capacity, size_t* pos, const char* s, size_t max) {
  size_t n = bounded_strlen(s, max);
  if (n > max) {
    return 0;
  }
  if (*pos + 1u + n > capacity) {
    return -1;
  }
  payload[*pos] = (uint8_t)n;
  if (n > 0u) {
    memcpy(payload + *pos + 1u, s, n);
  }
  *pos += 1u + n;
  return 1;
}

static int get_string(const uint8_t* payload, size_t length, size_t* pos, char* s, size_t max) {
  size_t n;
  size_t i;
  if (*pos + 1u > length) {
    return 0;
  }
  n = payload[*pos];
  if (n > max || *pos + 1u + n > length) {
    return 0;
  }
  for (i = 0; i < n; ++i) {
    if (payload[*pos + 1u + i] == 0u) {
      return 0; /* no NUL inside: it would truncate the C string */
    }
  }
  memcpy(s, payload + *pos + 1u, n);
  s[n] = '\0';
  *pos += 1u + n;
  return 1;
}

#define GSP_DEVICE_INFO_FIXED 8u /* minor u8, format u8, n_emg u8, n_imu u8, emg_rate f32 */
#define GSP_EMG_CHANNEL_FIXED 9u /* kind u8, gain f32, uv/count f32 (after the label) */
#define GSP_IMU_FIXED 25u        /* flags u8, 6 x f32 (after the label) */

gsp_result gsp_device_info_encode(const gsp_device_info* info, uint8_t* payload, size_t capacity,
                                  size_t* length) {
  size_t pos = 0;
  size_t i;
  int s;
  if (info == NULL || payload == NULL || length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (info->emg_channel_count > GSP_MAX_EMG_CHANNELS || info->imu_count > GSP_MAX_IMUS ||
      info->emg_format > GSP_FORMAT_INT24) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (capacity < GSP_DEVICE_INFO_FIXED) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  payload[0] = info->protocol_minor;
  payload[1] = info->emg_format;
  payload[2] = info->emg_channel_count;
  payload[3] = info->imu_count;
  put_f32(payload + 4, info->emg_rate_hz);
  pos = GSP_DEVICE_INFO_FIXED;
  s = put_string(payload, capacity, &pos, info->firmware_version, GSP_MAX_STRING_LENGTH);
  if (s <= 0) {
    return s == 0 ? GSP_ERR_INVALID_ARGUMENT : GSP_ERR_BUFFER_TOO_SMALL;
  }
  s = put_string(payload, capacity, &pos, info->serial_number, GSP_MAX_STRING_LENGTH);
  if (s <= 0) {
    return s == 0 ? GSP_ERR_INVALID_ARGUMENT : GSP_ERR_BUFFER_TOO_SMALL;
  }
  for (i = 0; i < info->emg_channel_count; ++i) {
    const gsp_emg_channel_info* c = &info->emg[i];
    s = put_string(payload, capacity, &pos, c->label, GSP_MAX_LABEL_LENGTH);
    if (s <= 0) {
      return s == 0 ? GSP_ERR_INVALID_ARGUMENT : GSP_ERR_BUFFER_TOO_SMALL;
    }
    if (pos + GSP_EMG_CHANNEL_FIXED > capacity) {
      return GSP_ERR_BUFFER_TOO_SMALL;
    }
    payload[pos] = c->kind;
    put_f32(payload + pos + 1u, c->gain);
    put_f32(payload + pos + 5u, c->microvolts_per_count);
    pos += GSP_EMG_CHANNEL_FIXED;
  }
  for (i = 0; i < info->imu_count; ++i) {
    const gsp_imu_info* m = &info->imu[i];
    s = put_string(payload, capacity, &pos, m->label, GSP_MAX_LABEL_LENGTH);
    if (s <= 0) {
      return s == 0 ? GSP_ERR_INVALID_ARGUMENT : GSP_ERR_BUFFER_TOO_SMALL;
    }
    if (pos + GSP_IMU_FIXED > capacity) {
      return GSP_ERR_BUFFER_TOO_SMALL;
    }
    payload[pos] = m->flags;
    put_f32(payload + pos + 1u, m->rate_hz);
    put_f32(payload + pos + 5u, m->accel_range_g);
    put_f32(payload + pos + 9u, m->gyro_range_dps);
    put_f32(payload + pos + 13u, m->accel_g_per_count);
    put_f32(payload + pos + 17u, m->gyro_dps_per_count);
    put_f32(payload + pos + 21u, m->mag_ut_per_count);
    pos += GSP_IMU_FIXED;
  }
  if (pos > GSP_MAX_PAYLOAD_SIZE) {
    return GSP_ERR_TOO_LONG;
  }
  *length = pos;
  return GSP_OK;
}

gsp_result gsp_device_info_decode(const uint8_t* payload, size_t length, gsp_device_info* info) {
  size_t pos;
  size_t i;
  if (payload == NULL || info == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  memset(info, 0, sizeof *info);
  if (length < GSP_DEVICE_INFO_FIXED) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  info->protocol_minor = payload[0];
  info->emg_format = payload[1];
  info->emg_channel_count = payload[2];
  info->imu_count = payload[3];
  info->emg_rate_hz = get_f32(payload + 4);
  if (info->emg_format > GSP_FORMAT_INT24 || info->emg_channel_count > GSP_MAX_EMG_CHANNELS ||
      info->imu_count > GSP_MAX_IMUS) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  pos = GSP_DEVICE_INFO_FIXED;
  if (!get_string(payload, length, &pos, info->firmware_version, GSP_MAX_STRING_LENGTH)) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  if (!get_string(payload, length, &pos, info->serial_number, GSP_MAX_STRING_LENGTH)) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  for (i = 0; i < info->emg_channel_count; ++i) {
    gsp_emg_channel_info* c = &info->emg[i];
    if (!get_string(payload, length, &pos, c->label, GSP_MAX_LABEL_LENGTH)) {
      return GSP_ERR_BAD_PAYLOAD;
    }
    if (pos + GSP_EMG_CHANNEL_FIXED > length) {
      return GSP_ERR_BAD_PAYLOAD;
    }
    c->kind = payload[pos];
    c->gain = get_f32(payload + pos + 1u);
    c->microvolts_per_count = get_f32(payload + pos + 5u);
    pos += GSP_EMG_CHANNEL_FIXED;
  }
  for (i = 0; i < info->imu_count; ++i) {
    gsp_imu_info* m = &info->imu[i];
    if (!get_string(payload, length, &pos, m->label, GSP_MAX_LABEL_LENGTH)) {
      return GSP_ERR_BAD_PAYLOAD;
    }
    if (pos + GSP_IMU_FIXED > length) {
      return GSP_ERR_BAD_PAYLOAD;
    }
    m->flags = payload[pos];
    m->rate_hz = get_f32(payload + pos + 1u);
    m->accel_range_g = get_f32(payload + pos + 5u);
    m->gyro_range_dps = get_f32(payload + pos + 9u);
    m->accel_g_per_count = get_f32(payload + pos + 13u);
    m->gyro_dps_per_count = get_f32(payload + pos + 17u);
    m->mag_ut_per_count = get_f32(payload + pos + 21u);
    pos += GSP_IMU_FIXED;
  }
  return GSP_OK; /* trailing bytes: fields appended by a later minor revision */
}

size_t gsp_v1_payload_size(uint8_t type, const gsp_device_info* info) {
  size_t size = 0;
  size_t i;
  switch (type) {
    case GSP_MSG_EVENT:
      return GSP_EVENT_SIZE;
    case GSP_MSG_STATUS:
      return GSP_STATUS_SIZE;
    case GSP_MSG_COMMAND:
      return GSP_COMMAND_SIZE;
    case GSP_MSG_ACK:
      return GSP_ACK_SIZE;
    case GSP_MSG_DEVICE_INFO:
      if (info == NULL) {
        return 0u;
      }
      size = GSP_DEVICE_INFO_FIXED + 2u + bounded_strlen(info->firmware_version, GSP_MAX_STRING_LENGTH) +
             bounded_strlen(info->serial_number, GSP_MAX_STRING_LENGTH);
      for (i = 0; i < info->emg_channel_count && i < GSP_MAX_EMG_CHANNELS; ++i) {
        size += 1u + bounded_strlen(info->emg[i].label, GSP_MAX_LABEL_LENGTH) + GSP_EMG_CHANNEL_FIXED;
      }
      for (i = 0; i < info->imu_count && i < GSP_MAX_IMUS; ++i) {
        size += 1u + bounded_strlen(info->imu[i].label, GSP_MAX_LABEL_LENGTH) + GSP_IMU_FIXED;
      }
      return size;
    default:
      return 0u;
  }
}

/* ---- EMG_BLOCK --------------------------------------------------------------------------------- */

static size_t bytes_per_sample(uint8_t format) { return format == GSP_FORMAT_INT24 ? 3u : 2u; }

uint16_t gsp_emg_max_samples(uint8_t channel_count, uint8_t format) {
  if (channel_count == 0u || format > GSP_FORMAT_INT24) {
    return 0u;
  }
  return (uint16_t)((GSP_MAX_PAYLOAD_SIZE - GSP_EMG_BLOCK_HEADER_SIZE) /
                    (channel_count * bytes_per_sample(format)));
}

gsp_result gsp_emg_block_encode(const gsp_emg_block* block, const int32_t* counts, uint8_t* payload,
                                size_t capacity, size_t* length) {
  size_t values;
  size_t width;
  size_t total;
  size_t i;
  int32_t lo;
  int32_t hi;
  if (block == NULL || payload == NULL || length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (block->format > GSP_FORMAT_INT24 || block->channel_count == 0u) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  values = (size_t)block->sample_count * block->channel_count;
  if (counts == NULL && values > 0u) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  width = bytes_per_sample(block->format);
  total = GSP_EMG_BLOCK_HEADER_SIZE + values * width;
  if (total > GSP_MAX_PAYLOAD_SIZE) {
    return GSP_ERR_TOO_LONG;
  }
  if (total > capacity) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  lo = block->format == GSP_FORMAT_INT24 ? -8388608 : -32768;
  hi = block->format == GSP_FORMAT_INT24 ? 8388607 : 32767;
  for (i = 0; i < values; ++i) {
    if (counts[i] < lo || counts[i] > hi) {
      return GSP_ERR_INVALID_ARGUMENT;
    }
  }
  put_u32(payload, block->first_sample);
  put_u16(payload + 4, block->sample_count);
  payload[6] = block->channel_count;
  payload[7] = block->format;
  for (i = 0; i < values; ++i) {
    uint32_t u = (uint32_t)counts[i]; /* two's complement bit pattern */
    uint8_t* p = payload + GSP_EMG_BLOCK_HEADER_SIZE + i * width;
    p[0] = (uint8_t)(u & 0xFFu);
    p[1] = (uint8_t)((u >> 8) & 0xFFu);
    if (width == 3u) {
      p[2] = (uint8_t)((u >> 16) & 0xFFu);
    }
  }
  *length = total;
  return GSP_OK;
}

gsp_result gsp_emg_block_decode(const uint8_t* payload, size_t length, gsp_emg_block* block) {
  size_t needed;
  if (payload == NULL || block == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (length < GSP_EMG_BLOCK_HEADER_SIZE) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  block->first_sample = get_u32(payload);
  block->sample_count = get_u16(payload + 4);
  block->channel_count = payload[6];
  block->format = payload[7];
  block->samples = payload + GSP_EMG_BLOCK_HEADER_SIZE;
  if (block->format > GSP_FORMAT_INT24 || block->channel_count == 0u) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  needed = GSP_EMG_BLOCK_HEADER_SIZE +
           (size_t)block->sample_count * block->channel_count * bytes_per_sample(block->format);
  /* Sample data must fill the payload exactly: trailing bytes here would be ambiguous. */
  if (needed != length) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  return GSP_OK;
}

int32_t gsp_emg_block_sample(const gsp_emg_block* block, size_t sample, size_t channel) {
  size_t width = bytes_per_sample(block->format);
  const uint8_t* p = block->samples + (sample * block->channel_count + channel) * width;
  if (width == 2u) {
    uint16_t u = get_u16(p);
    return u >= 0x8000u ? (int32_t)u - 65536 : (int32_t)u;
  } else {
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
    return u >= 0x800000u ? (int32_t)u - 16777216 : (int32_t)u;
  }
}

/* ---- IMU_BLOCK --------------------------------------------------------------------------------- */

static size_t imu_sample_size(uint8_t flags) { return (flags & GSP_IMU_FLAG_HAS_MAG) != 0u ? 18u : 12u; }

uint16_t gsp_imu_max_samples(uint8_t flags) {
  return (uint16_t)((GSP_MAX_PAYLOAD_SIZE - GSP_IMU_BLOCK_HEADER_SIZE) / imu_sample_size(flags));
}

static int16_t as_i16(uint16_t u) { return u >= 0x8000u ? (int16_t)((int32_t)u - 65536) : (int16_t)u; }

gsp_result gsp_imu_block_encode(const gsp_imu_block* block, const int16_t* accel, const int16_t* gyro,
                                const int16_t* mag, uint8_t* payload, size_t capacity, size_t* length) {
  size_t size;
  size_t total;
  size_t i;
  size_t k;
  int has_mag;
  if (block == NULL || payload == NULL || length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if ((block->flags & (uint8_t)~GSP_IMU_FLAG_HAS_MAG) != 0u) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  has_mag = (block->flags & GSP_IMU_FLAG_HAS_MAG) != 0u;
  if (block->sample_count > 0u && (accel == NULL || gyro == NULL || (has_mag && mag == NULL))) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  size = imu_sample_size(block->flags);
  total = GSP_IMU_BLOCK_HEADER_SIZE + (size_t)block->sample_count * size;
  if (total > GSP_MAX_PAYLOAD_SIZE) {
    return GSP_ERR_TOO_LONG;
  }
  if (total > capacity) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  payload[0] = block->sensor;
  payload[1] = block->flags;
  put_u16(payload + 2, block->sample_count);
  put_u32(payload + 4, block->first_sample);
  for (i = 0; i < block->sample_count; ++i) {
    uint8_t* p = payload + GSP_IMU_BLOCK_HEADER_SIZE + i * size;
    for (k = 0; k < 3u; ++k) {
      put_u16(p + 2u * k, (uint16_t)accel[3u * i + k]);
      put_u16(p + 6u + 2u * k, (uint16_t)gyro[3u * i + k]);
      if (has_mag) {
        put_u16(p + 12u + 2u * k, (uint16_t)mag[3u * i + k]);
      }
    }
  }
  *length = total;
  return GSP_OK;
}

gsp_result gsp_imu_block_decode(const uint8_t* payload, size_t length, gsp_imu_block* block) {
  if (payload == NULL || block == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (length < GSP_IMU_BLOCK_HEADER_SIZE) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  block->sensor = payload[0];
  block->flags = payload[1];
  block->sample_count = get_u16(payload + 2);
  block->first_sample = get_u32(payload + 4);
  block->samples = payload + GSP_IMU_BLOCK_HEADER_SIZE;
  if ((block->flags & (uint8_t)~GSP_IMU_FLAG_HAS_MAG) != 0u) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  if (GSP_IMU_BLOCK_HEADER_SIZE + (size_t)block->sample_count * imu_sample_size(block->flags) != length) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  return GSP_OK;
}

void gsp_imu_block_sample(const gsp_imu_block* block, size_t sample, int16_t accel[3], int16_t gyro[3],
                          int16_t mag[3]) {
  size_t size = imu_sample_size(block->flags);
  const uint8_t* p = block->samples + sample * size;
  size_t k;
  for (k = 0; k < 3u; ++k) {
    accel[k] = as_i16(get_u16(p + 2u * k));
    gyro[k] = as_i16(get_u16(p + 6u + 2u * k));
    if (mag != NULL) {
      mag[k] = size == 18u ? as_i16(get_u16(p + 12u + 2u * k)) : (int16_t)0;
    }
  }
}

/* ---- EVENT, STATUS, COMMAND, ACK -------------------------------------------------------------- */

int gsp_is_known_event_kind(uint8_t kind) { return kind <= (uint8_t)GSP_EVENT_SET_STOP; }

/* SET_START / SET_STOP fields against the code tables of PROTOCOL.md §4.4. Bits 16-31 of value are
 * reserved: `strict` (encoding) requires them 0, a receiver ignores them. */
static int set_event_fields_valid(const gsp_event* event, int strict) {
  const uint16_t exercise = event->arg;
  if (exercise != GSP_EXERCISE_BRIDGE && exercise != GSP_EXERCISE_CLAMSHELL && exercise != GSP_EXERCISE_MVC &&
      exercise != GSP_EXERCISE_OTHER) {
    return 0;
  }
  if (strict && (event->value >> 16) != 0u) {
    return 0;
  }
  if (exercise != GSP_EXERCISE_MVC) {
    return (event->value & 0xFFFFu) == 0u;
  }
  {
    const uint32_t muscle = GSP_SET_VALUE_MUSCLE(event->value);
    const uint32_t side = GSP_SET_VALUE_SIDE(event->value);
    return (muscle <= (uint32_t)GSP_MUSCLE_TENSOR_FASCIAE_LATAE || muscle == (uint32_t)GSP_MUSCLE_OTHER) &&
           side <= (uint32_t)GSP_SIDE_UNKNOWN;
  }
}

static int is_set_event(uint8_t kind) { return kind == GSP_EVENT_SET_START || kind == GSP_EVENT_SET_STOP; }

gsp_result gsp_event_encode(const gsp_event* event, uint8_t* payload, size_t capacity, size_t* length) {
  if (event == NULL || payload == NULL || length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (is_set_event(event->kind) && !set_event_fields_valid(event, 1)) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (capacity < GSP_EVENT_SIZE) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  payload[0] = event->kind;
  payload[1] = 0u; /* reserved */
  put_u16(payload + 2, event->arg);
  put_u32(payload + 4, event->value);
  *length = GSP_EVENT_SIZE;
  return GSP_OK;
}

gsp_result gsp_event_decode(const uint8_t* payload, size_t length, gsp_event* event) {
  if (payload == NULL || event == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (length < GSP_EVENT_SIZE) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  event->kind = payload[0];
  event->arg = get_u16(payload + 2);
  event->value = get_u32(payload + 4);
  if (is_set_event(event->kind) && !set_event_fields_valid(event, 0)) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  return GSP_OK;
}

gsp_result gsp_status_encode(const gsp_status* status, uint8_t* payload, size_t capacity, size_t* length) {
  if (status == NULL || payload == NULL || length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (capacity < GSP_STATUS_SIZE) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  payload[0] = status->battery_percent;
  payload[1] = status->state;
  put_u16(payload + 2, status->battery_mv);
  put_u32(payload + 4, status->overflow_count);
  put_u32(payload + 8, status->uptime_s);
  *length = GSP_STATUS_SIZE;
  return GSP_OK;
}

gsp_result gsp_status_decode(const uint8_t* payload, size_t length, gsp_status* status) {
  if (payload == NULL || status == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (length < GSP_STATUS_SIZE) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  status->battery_percent = payload[0];
  status->state = payload[1];
  status->battery_mv = get_u16(payload + 2);
  status->overflow_count = get_u32(payload + 4);
  status->uptime_s = get_u32(payload + 8);
  return GSP_OK;
}

gsp_result gsp_command_encode(const gsp_command* command, uint8_t* payload, size_t capacity, size_t* length) {
  if (command == NULL || payload == NULL || length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (capacity < GSP_COMMAND_SIZE) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  put_u16(payload, command->command_id);
  payload[2] = command->opcode;
  payload[3] = command->target;
  put_u32(payload + 4, command->argument);
  *length = GSP_COMMAND_SIZE;
  return GSP_OK;
}

gsp_result gsp_command_decode(const uint8_t* payload, size_t length, gsp_command* command) {
  if (payload == NULL || command == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (length < GSP_COMMAND_SIZE) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  command->command_id = get_u16(payload);
  command->opcode = payload[2];
  command->target = payload[3];
  command->argument = get_u32(payload + 4);
  return GSP_OK;
}

gsp_result gsp_ack_encode(const gsp_ack* ack, uint8_t* payload, size_t capacity, size_t* length) {
  if (ack == NULL || payload == NULL || length == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (capacity < GSP_ACK_SIZE) {
    return GSP_ERR_BUFFER_TOO_SMALL;
  }
  put_u16(payload, ack->command_id);
  payload[2] = ack->opcode;
  payload[3] = ack->result;
  *length = GSP_ACK_SIZE;
  return GSP_OK;
}

gsp_result gsp_ack_decode(const uint8_t* payload, size_t length, gsp_ack* ack) {
  if (payload == NULL || ack == NULL) {
    return GSP_ERR_INVALID_ARGUMENT;
  }
  if (length < GSP_ACK_SIZE) {
    return GSP_ERR_BAD_PAYLOAD;
  }
  ack->command_id = get_u16(payload);
  ack->opcode = payload[2];
  ack->result = payload[3];
  return GSP_OK;
}
