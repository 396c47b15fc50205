/* see decode.h */
#include "proto/decode.h"

#include <string.h>

#include <brotli/decode.h>
#include <zlib.h>
/* ZSTD_createDCtx_advanced (custom allocator) lives in zstd's "static
 * linking only" section. The shared libzstd exports it and its signature and
 * ZSTD_customMem have been stable since zstd 1.0; routing zstd's memory
 * through wh_malloc is worth depending on it. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "util/mem.h"

/* RFC 9659 §3: "zstd" content-coding decoders need windows of up to 8 MiB
 * and may refuse larger ones. Refusing them bounds what one response can make
 * us allocate; zstd's own default limit is 128 MiB. */
#define ZSTD_HTTP_WINDOW_LOG_MAX 23

/* The zstd decoder's state: the library's context plus what
 * zstd_frame_end needs to check each frame's declared size. */
struct zstd_state {
  ZSTD_DCtx *z;
  unsigned char hdr[ZSTD_FRAMEHEADERSIZE_MAX];
  size_t hdr_len;     /* the current frame's first bytes seen so far */
  uint64_t frame_out; /* bytes the current frame produced */
};

enum {
  ST_BODY = 0,    /* inside a stream (or not started, for all but deflate) */
  ST_DETECT,      /* deflate: collecting the 2 bytes that pick zlib or raw */
  ST_MEMBER_END,  /* gzip: a member ended; look for another one */
  ST_MAGIC_HALF,  /* gzip: held a 0x1f after a member; is 0x8b next? */
  ST_IGNORE,      /* gzip/deflate: after the stream; further bytes dropped */
  ST_END,         /* br: stream ended; further bytes are corrupt */
  ST_FRAME_END    /* zstd: a frame ended and was flushed; another may start */
};

/* ---- Content-Encoding and Accept-Encoding ------------------------------ */

static int lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool token_is(const char *s, size_t n, const char *lit)
{
  size_t m = strlen(lit);
  if (n != m)
    return false;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)s[i]) != lit[i])
      return false;
  return true;
}

DWORD wh_coding_from_header(const char *value, size_t len, DWORD enabled_flags,
                            enum wh_coding *out)
{
  if (!out || (!value && len))
    return ERROR_INVALID_PARAMETER;
  *out = WH_CODING_IDENTITY;

  enum wh_coding found = WH_CODING_IDENTITY;
  size_t codings = 0; /* non-identity elements, known or not */
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && value[i] != ',')
      i++;
    size_t end = i;
    if (i < len)
      i++; /* the comma */
    while (start < end && (value[start] == ' ' || value[start] == '\t'))
      start++;
    while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
      end--;
    const char *t = value + start;
    size_t n = end - start;
    if (n == 0 || token_is(t, n, "identity"))
      continue;
    codings++;
    if (token_is(t, n, "gzip") || token_is(t, n, "x-gzip"))
      found = WH_CODING_GZIP;
    else if (token_is(t, n, "deflate"))
      found = WH_CODING_DEFLATE;
    else if (token_is(t, n, "br"))
      found = WH_CODING_BR;
    else if (token_is(t, n, "zstd"))
      found = WH_CODING_ZSTD;
    else
      found = WH_CODING_IDENTITY; /* unknown: the whole body passes through */
  }
  if (codings != 1)
    return ERROR_SUCCESS;

  DWORD need = 0;
  switch (found) {
  case WH_CODING_GZIP: need = WINHTTP_DECOMPRESSION_FLAG_GZIP; break;
  case WH_CODING_DEFLATE: need = WINHTTP_DECOMPRESSION_FLAG_DEFLATE; break;
  case WH_CODING_BR: need = WH_DECOMPRESSION_FLAG_BR; break;
  case WH_CODING_ZSTD: need = WH_DECOMPRESSION_FLAG_ZSTD; break;
  case WH_CODING_IDENTITY: break;
  }
  if (need && (enabled_flags & need))
    *out = found;
  return ERROR_SUCCESS;
}

const char *wh_accept_encoding(DWORD enabled_flags)
{
  /* Indexed by gzip | deflate << 1 | br << 2 | zstd << 3: constant strings
   * keep the engine free of formatting and allocation for a fixed value. */
  static const char *const table[16] = {
    NULL,
    "gzip",
    "deflate",
    "gzip, deflate",
    "br",
    "gzip, br",
    "deflate, br",
    "gzip, deflate, br",
    "zstd",
    "gzip, zstd",
    "deflate, zstd",
    "gzip, deflate, zstd",
    "br, zstd",
    "gzip, br, zstd",
    "deflate, br, zstd",
    "gzip, deflate, br, zstd",
  };
  unsigned i = ((enabled_flags & WINHTTP_DECOMPRESSION_FLAG_GZIP) ? 1u : 0u) |
               ((enabled_flags & WINHTTP_DECOMPRESSION_FLAG_DEFLATE) ? 2u : 0u) |
               ((enabled_flags & WH_DECOMPRESSION_FLAG_BR) ? 4u : 0u) |
               ((enabled_flags & WH_DECOMPRESSION_FLAG_ZSTD) ? 8u : 0u);
  return table[i];
}

const char *wh_coding_name(enum wh_coding c)
{
  switch (c) {
  case WH_CODING_IDENTITY: return "identity";
  case WH_CODING_GZIP: return "gzip";
  case WH_CODING_DEFLATE: return "deflate";
  case WH_CODING_BR: return "br";
  case WH_CODING_ZSTD: return "zstd";
  }
  return NULL;
}

/* ---- allocator glue ---------------------------------------------------- */

static void *lib_alloc(void *opaque, size_t size)
{
  (void)opaque;
  return wh_malloc(size);
}

static void lib_free(void *opaque, void *p)
{
  (void)opaque;
  wh_free(p);
}

/* ---- init / free ------------------------------------------------------- */

DWORD wh_decoder_init(struct wh_decoder *d, enum wh_coding c, uint64_t max_output)
{
  if (!d)
    return ERROR_INVALID_PARAMETER;
  memset(d, 0, sizeof(*d));
  d->coding = c;
  d->max_output = max_output;
  d->state = ST_BODY;

  switch (c) {
  case WH_CODING_IDENTITY:
    return ERROR_SUCCESS;

  case WH_CODING_GZIP:
  case WH_CODING_DEFLATE: {
    z_stream *z = wh_calloc(1, sizeof(*z));
    if (!z)
      return ERROR_NOT_ENOUGH_MEMORY;
    z->zalloc = wh_zlib_alloc;
    z->zfree = wh_zlib_free;
    /* gzip: 16 + 15 = gzip wrapper only, 32 KiB window. deflate starts as a
     * zlib-wrapped stream; ST_DETECT may switch it to raw with inflateReset2
     * before the first byte, which allocates nothing (the window comes on
     * first output). */
    int rc = inflateInit2(z, c == WH_CODING_GZIP ? 16 + MAX_WBITS : MAX_WBITS);
    if (rc != Z_OK) {
      wh_free(z);
      return rc == Z_MEM_ERROR ? ERROR_NOT_ENOUGH_MEMORY : ERROR_INVALID_PARAMETER;
    }
    d->impl = z;
    if (c == WH_CODING_DEFLATE)
      d->state = ST_DETECT;
    return ERROR_SUCCESS;
  }

  case WH_CODING_BR: {
    BrotliDecoderState *s = BrotliDecoderCreateInstance(lib_alloc, lib_free, NULL);
    if (!s)
      return ERROR_NOT_ENOUGH_MEMORY;
    d->impl = s;
    return ERROR_SUCCESS;
  }

  case WH_CODING_ZSTD: {
    struct zstd_state *zs = wh_calloc(1, sizeof(*zs));
    if (!zs)
      return ERROR_NOT_ENOUGH_MEMORY;
    ZSTD_customMem mem = { lib_alloc, lib_free, NULL };
    zs->z = ZSTD_createDCtx_advanced(mem);
    if (!zs->z) {
      wh_free(zs);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    size_t r = ZSTD_DCtx_setParameter(zs->z, ZSTD_d_windowLogMax, ZSTD_HTTP_WINDOW_LOG_MAX);
    if (ZSTD_isError(r)) {
      ZSTD_freeDCtx(zs->z);
      wh_free(zs);
      return ERROR_INVALID_PARAMETER;
    }
    d->impl = zs;
    return ERROR_SUCCESS;
  }
  }
  d->coding = WH_CODING_IDENTITY;
  return ERROR_INVALID_PARAMETER;
}

void wh_decoder_free(struct wh_decoder *d)
{
  if (!d || !d->impl)
    return;
  switch (d->coding) {
  case WH_CODING_GZIP:
  case WH_CODING_DEFLATE:
    inflateEnd(d->impl);
    wh_free(d->impl);
    break;
  case WH_CODING_BR:
    BrotliDecoderDestroyInstance(d->impl);
    break;
  case WH_CODING_ZSTD:
    if (d->impl) {
      ZSTD_freeDCtx(((struct zstd_state *)d->impl)->z);
      wh_free(d->impl);
    }
    break;
  case WH_CODING_IDENTITY:
    break;
  }
  d->impl = NULL;
}

/* ---- the coding steps ---------------------------------------------------
 *
 * Each step decodes from |in| into |out| (cap >= 1) and returns once |out|
 * is full, or once it cannot go on without more input (all of |in| accepted,
 * or the rest ignored), or on an error. *used and *wrote say how far it got,
 * also when it fails.
 */

struct io {
  const unsigned char *in;
  size_t in_len, used;
  unsigned char *out;
  size_t cap, wrote;
};

static DWORD map_zlib(int rc)
{
  return rc == Z_MEM_ERROR ? ERROR_NOT_ENOUGH_MEMORY : ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
}

/* The zlib header check of RFC 1950 §2.2: method 8, window ≤ 32 KiB, and the
 * 16-bit value a multiple of 31. A raw deflate stream written by a real
 * encoder cannot pass it: a low nibble of 8 in the first byte means a stored
 * block (BTYPE 00) with a non-zero padding bit, which encoders never emit.
 * Deciding on the header (rather than trying zlib and replaying the input as
 * raw deflate after an error, as curl does) needs no copy of consumed input
 * and cannot be fooled by output produced before the error. A zlib header with
 * FDICT set passes and then fails on Z_NEED_DICT: HTTP has no way to name a
 * dictionary. */
static bool looks_like_zlib(unsigned char b0, unsigned char b1)
{
  return (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((unsigned)b0 * 256u + b1) % 31u == 0;
}

static DWORD step_zlib(struct wh_decoder *d, struct io *io)
{
  z_stream *z = d->impl;
  for (;;) {
    switch (d->state) {
    case ST_DETECT:
      while (d->held_len < 2 && io->used < io->in_len)
        d->held[d->held_len++] = io->in[io->used++];
      if (d->held_len < 2)
        return ERROR_SUCCESS;
      if (!looks_like_zlib(d->held[0], d->held[1]) && inflateReset2(z, -MAX_WBITS) != Z_OK)
        return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
      d->held_off = 0;
      d->state = ST_BODY;
      break;

    case ST_MEMBER_END:
      if (io->used == io->in_len)
        return ERROR_SUCCESS;
      if (io->in[io->used] != 0x1f) {
        d->state = ST_IGNORE;
      } else if (io->used + 1 < io->in_len) {
        if (io->in[io->used + 1] == 0x8b) {
          if (inflateReset(z) != Z_OK)
            return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
          d->state = ST_BODY;
        } else {
          d->state = ST_IGNORE;
        }
      } else {
        /* A lone 0x1f at the end of this input: hold it until the next byte
         * says whether it starts a member. */
        d->held[0] = 0x1f;
        d->held_len = 1;
        d->held_off = 0;
        io->used++;
        d->state = ST_MAGIC_HALF;
        return ERROR_SUCCESS;
      }
      break;

    case ST_MAGIC_HALF:
      if (io->used == io->in_len)
        return ERROR_SUCCESS;
      if (io->in[io->used] == 0x8b) {
        if (inflateReset(z) != Z_OK)
          return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
        d->state = ST_BODY; /* the held 0x1f goes in first */
      } else {
        d->held_len = d->held_off = 0; /* trailing junk after all */
        d->state = ST_IGNORE;
      }
      break;

    case ST_IGNORE:
      io->used = io->in_len;
      return ERROR_SUCCESS;

    default: { /* ST_BODY */
      if (io->wrote == io->cap)
        return ERROR_SUCCESS;
      bool from_held = d->held_off < d->held_len;
      const unsigned char *src = from_held ? d->held + d->held_off : io->in + io->used;
      size_t n = from_held ? (size_t)(d->held_len - d->held_off) : io->in_len - io->used;
      size_t room = io->cap - io->wrote;
      /* zlib counts in uInt; a body call larger than 4 GiB just takes more
       * rounds of this loop. */
      uInt n_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
      uInt n_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
      z->next_in = (Bytef *)(uintptr_t)src; /* zlib does not write through it */
      z->avail_in = n_in;
      z->next_out = io->out + io->wrote;
      z->avail_out = n_out;
      int rc = inflate(z, Z_NO_FLUSH);
      size_t took = n_in - z->avail_in;
      size_t gave = n_out - z->avail_out;
      if (from_held)
        d->held_off = (unsigned char)(d->held_off + took);
      else
        io->used += took;
      io->wrote += gave;
      if (from_held && d->held_off == d->held_len)
        d->held_len = d->held_off = 0;

      if (rc == Z_STREAM_END) {
        d->state = d->coding == WH_CODING_GZIP ? ST_MEMBER_END : ST_IGNORE;
        /* No valid stream ends inside the held bytes (the shortest deflate
         * stream, raw "03 00", is exactly the two detection bytes; a gzip
         * member is longer than its held 0x1f), so anything still held
         * would be junk after the end. */
        d->held_len = d->held_off = 0;
        break;
      }
      if (rc == Z_BUF_ERROR) /* no progress possible: needs input or room */
        return ERROR_SUCCESS;
      if (rc != Z_OK)
        return map_zlib(rc);
      if (took == 0 && gave == 0)
        return ERROR_SUCCESS;
      if (!from_held && io->used == io->in_len && io->wrote < io->cap)
        return ERROR_SUCCESS; /* zlib stops with room left only when starved */
      break;
    }
    }
  }
}

static DWORD step_br(struct wh_decoder *d, struct io *io)
{
  BrotliDecoderState *s = d->impl;
  for (;;) {
    if (d->state == ST_END) {
      if (io->used < io->in_len)
        return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
      return ERROR_SUCCESS;
    }
    if (io->wrote == io->cap)
      return ERROR_SUCCESS;
    size_t avail_in = io->in_len - io->used;
    const uint8_t *next_in = io->in + io->used;
    size_t avail_out = io->cap - io->wrote;
    uint8_t *next_out = io->out + io->wrote;
    size_t before_in = avail_in, before_out = avail_out;
    BrotliDecoderResult r =
      BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, NULL);
    io->used += before_in - avail_in;
    io->wrote += before_out - avail_out;
    switch (r) {
    case BROTLI_DECODER_RESULT_SUCCESS:
      d->state = ST_END;
      break;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
      return ERROR_SUCCESS;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
      /* Brotli asks for room only when there is none; the guard keeps a
       * library that did otherwise from spinning here. */
      if (before_in == avail_in && before_out == avail_out)
        return ERROR_SUCCESS;
      break;
    default: {
      int code = (int)BrotliDecoderGetErrorCode(s);
      return (code <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
              code >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES)
               ? ERROR_NOT_ENOUGH_MEMORY
               : ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    }
    }
  }
}

/* A frame ended: its declared content size, if any, must be what it
 * produced. zstd checks that when it decodes a frame in one pass (the whole
 * frame at hand and room for all of it) but not when it streams, so without
 * this the same body would fail or pass depending on how it arrived. */
static DWORD zstd_frame_end(struct zstd_state *zs)
{
  ZSTD_frameHeader fh;
  DWORD err = ERROR_SUCCESS;
  if (ZSTD_getFrameHeader(&fh, zs->hdr, zs->hdr_len) == 0 && fh.frameType == ZSTD_frame &&
      fh.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN && fh.frameContentSize != zs->frame_out)
    err = ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
  zs->hdr_len = 0;
  zs->frame_out = 0;
  return err;
}

static DWORD step_zstd(struct wh_decoder *d, struct io *io)
{
  struct zstd_state *zs = d->impl;
  ZSTD_DCtx *z = zs->z;
  for (;;) {
    if (io->wrote == io->cap)
      return ERROR_SUCCESS;
    /* At a frame boundary with nothing more to read, stop: asking zstd for
     * output there would do nothing but is not an error either. */
    if (d->state == ST_FRAME_END && io->used == io->in_len)
      return ERROR_SUCCESS;
    ZSTD_inBuffer ib = { io->in + io->used, io->in_len - io->used, 0 };
    ZSTD_outBuffer ob = { io->out + io->wrote, io->cap - io->wrote, 0 };
    size_t r = ZSTD_decompressStream(z, &ob, &ib);
    if (!ZSTD_isError(r)) {
      /* The frame's first bytes (its header), for zstd_frame_end. */
      size_t take = sizeof(zs->hdr) - zs->hdr_len;
      if (take > ib.pos)
        take = ib.pos;
      memcpy(zs->hdr + zs->hdr_len, io->in + io->used, take);
      zs->hdr_len += take;
      zs->frame_out += ob.pos;
    }
    io->used += ib.pos;
    io->wrote += ob.pos;
    if (ZSTD_isError(r))
      return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation
               ? ERROR_NOT_ENOUGH_MEMORY
               : ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    if (r == 0) {
      DWORD err = zstd_frame_end(zs);
      if (err != ERROR_SUCCESS)
        return err;
    }
    /* 0: a frame is complete and fully flushed. Otherwise zstd documents
     * that a call leaving output room has flushed all it could, so it is
     * waiting for input. */
    d->state = r == 0 ? ST_FRAME_END : ST_BODY;
    if (r != 0 && ob.pos < ob.size && io->used == io->in_len)
      return ERROR_SUCCESS;
    if (ib.pos == 0 && ob.pos == 0)
      return ERROR_SUCCESS; /* no progress: never spin */
  }
}

static DWORD step_identity(struct io *io)
{
  size_t n = io->in_len - io->used;
  if (n > io->cap - io->wrote)
    n = io->cap - io->wrote;
  if (n)
    memcpy(io->out + io->wrote, io->in + io->used, n);
  io->used += n;
  io->wrote += n;
  return ERROR_SUCCESS;
}

static DWORD step(struct wh_decoder *d, struct io *io)
{
  switch (d->coding) {
  case WH_CODING_GZIP:
  case WH_CODING_DEFLATE: return step_zlib(d, io);
  case WH_CODING_BR: return step_br(d, io);
  case WH_CODING_ZSTD: return step_zstd(d, io);
  case WH_CODING_IDENTITY: break;
  }
  return step_identity(io);
}

/* True when the input so far ends a complete stream and nothing is held. */
static bool at_clean_end(const struct wh_decoder *d)
{
  switch (d->state) {
  case ST_MEMBER_END:
  case ST_MAGIC_HALF: /* the held 0x1f alone is trailing junk */
  case ST_IGNORE:
  case ST_END:
  case ST_FRAME_END:
    return true;
  default:
    return false;
  }
}

/* ---- run / finish ------------------------------------------------------ */

DWORD wh_decoder_run(struct wh_decoder *d, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_cap, size_t *out_len, bool *done)
{
  if (in_used)
    *in_used = 0;
  if (out_len)
    *out_len = 0;
  if (done)
    *done = false;
  if (!d || !in_used || !out_len || !done || (!in && in_len) || (!out && out_cap))
    return ERROR_INVALID_PARAMETER;
  if (d->error)
    return d->error;
  if (d->deferred) {
    d->error = d->deferred;
    return d->error;
  }
  if (d->coding != WH_CODING_IDENTITY && !d->impl)
    return ERROR_INVALID_PARAMETER; /* not initialised, or freed */

  /* in may be NULL with in_len 0; the steps still form in + used, which C
   * only allows on a real object. */
  static const unsigned char no_input[1] = {0};
  struct io io = { in ? in : no_input, in_len, 0, out, 0, 0 };
  DWORD err = ERROR_SUCCESS;
  size_t total = 0;
  while (total < out_cap) {
    uint64_t allow = d->max_output - d->produced;
    if (allow == 0) {
      /* At the bound: decode into a 1-byte scratch buffer. A byte there
       * means the stream goes on past the bound; none means it ended or needs
       * input, and the bytes it took were headers, trailers or empty blocks. */
      unsigned char probe;
      io.out = &probe;
      io.cap = 1;
      io.wrote = 0;
      err = step(d, &io);
      if (!err && io.wrote)
        err = ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW;
      break;
    }
    size_t room = out_cap - total;
    if ((uint64_t)room > allow)
      room = (size_t)allow;
    io.out = (unsigned char *)out + total;
    io.cap = room;
    io.wrote = 0;
    err = step(d, &io);
    total += io.wrote;
    d->produced += io.wrote;
    if (err || io.wrote < room)
      break;
    /* The clamped buffer filled: either out_cap is reached (loop ends) or
     * the bound is (next round probes). */
  }
  d->consumed += io.used;

  if (err) {
    if (total == 0) {
      d->error = err;
      /* Nothing handed out, so nothing accepted either: the error covers
       * this call's input. */
      return err;
    }
    d->deferred = err;
  }
  *in_used = io.used;
  *out_len = total;
  *done = !err && d->coding != WH_CODING_IDENTITY && at_clean_end(d);
  return ERROR_SUCCESS;
}

DWORD wh_decoder_finish(struct wh_decoder *d)
{
  if (!d)
    return ERROR_INVALID_PARAMETER;
  if (d->error)
    return d->error;
  if (d->deferred) {
    d->error = d->deferred;
    return d->error;
  }
  if (d->coding == WH_CODING_IDENTITY || d->consumed == 0 || at_clean_end(d))
    return ERROR_SUCCESS;
  d->error = ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
  return d->error;
}
