// Arena planning and weight repacking (runtime/plan.h has the layout and the rules).
#include "runtime/plan.h"

#include <cstring>

#include "kernels/isa.h"
#include "runtime/loader.h"

namespace lowbit::runtime {
namespace {

using kernels::QlBackend;
using kernels::QLayerDesc;
using kernels::QLayerPacked;
using kernels::Status;

constexpr uint64_t a64(uint64_t n) { return (n + 63) / 64 * 64; }

// The tables the planner fills (in the arena at prepare, in scratch when only sizing).
struct Tables {
  uint64_t* act_off;    // [T]
  uint64_t* act_bytes;  // [T]
  uint32_t* first;      // [T] op writing it
  uint32_t* last;       // [T] last op reading it
  uint64_t* ws_off;     // [O]
  uint64_t* ws_bytes;   // [O]
  uint64_t* packed_bytes;  // [O]
  uint64_t* codes_bytes;   // [O]
};
uint64_t tables_bytes(uint32_t T, uint32_t O) { return a64(uint64_t(T) * 24) + a64(uint64_t(O) * 32); }
Tables carve_tables(uint8_t* p, uint32_t T, uint32_t O) {
  Tables t;
  t.act_off = reinterpret_cast<uint64_t*>(p);
  t.act_bytes = t.act_off + T;
  t.first = reinterpret_cast<uint32_t*>(t.act_bytes + T);
  t.last = t.first + T;
  uint8_t* q = p + a64(uint64_t(T) * 24);
  t.ws_off = reinterpret_cast<uint64_t*>(q);
  t.ws_bytes = t.ws_off + O;
  t.packed_bytes = t.ws_bytes + O;
  t.codes_bytes = t.packed_bytes + O;
  return t;
}

bool is_layer(const LbmOp& op) {
  return op.kind == static_cast<uint16_t>(LbmOpKind::conv2d) || op.kind == static_cast<uint16_t>(LbmOpKind::linear);
}

kernels::QlWeightFormat weight_format(uint8_t codes) {
  switch (static_cast<LbmCodes>(codes)) {
    case LbmCodes::binary: return kernels::QlWeightFormat::binary;
    case LbmCodes::ternary: return kernels::QlWeightFormat::ternary;
    case LbmCodes::sint: return kernels::QlWeightFormat::sint;
    default: return kernels::QlWeightFormat::uint;
  }
}

// Bytes per weight code when prepare decodes a layer's codes for qlayer_pack: int8 holds every format but 8-bit
// uint codes (0..255), which take int16.
uint64_t code_bytes(const LbmTensor& w) {
  return w.codes == static_cast<uint8_t>(LbmCodes::uint) && w.bits > 7 ? 2 : 1;
}

// Largest packed size over the backends that can run d (0 if none can).
uint64_t max_packed_bytes(const QLayerDesc& d) {
  uint64_t best = 0;
  for (int b = 0; b < kernels::kQlBackendCount; ++b) {
    QLayerDesc db = d;
    db.backend = static_cast<QlBackend>(b);
    if (!kernels::qlayer_backend_supports(db.backend, d.wfmt, d.wbits, d.afmt, d.abits)) continue;
    const uint64_t n = kernels::qlayer_packed_bytes(db);
    best = n > best ? n : best;
  }
  return best;
}

// The backend this CPU runs d with: qlayer's choice, or the reference when the choice cannot take this shape.
QlBackend chosen_backend(const QLayerDesc& d) {
  QLayerDesc db = d;
  db.backend = kernels::qlayer_choose_backend(d.wfmt, d.wbits, d.afmt, d.abits);
  if (kernels::qlayer_packed_bytes(db) == 0) db.backend = QlBackend::reference;
  return db.backend;
}

// Workspace bytes of layer op for the largest backend: dummy int8 codes in tmp, each backend's trial packing into
// pack (pack_bytes ≥ the largest packed size: at prepare the layer's own packed slot, so the arena needs no room for
// a second copy).
lowbit_status layer_workspace(const ModelView& v, uint32_t i, const LayerCall& c, uint8_t* tmp, uint64_t tmp_bytes,
                              uint8_t* pack, uint64_t pack_bytes, uint64_t* ws, char* msg, size_t msg_bytes) {
  *ws = 0;
  const size_t MK = static_cast<size_t>(c.desc.geom.O * c.desc.geom.K());
  if (MK > tmp_bytes)
    return report(LOWBIT_ERR_ARENA, msg, msg_bytes, "lbm: op %u: %llu scratch bytes to size the layer, %llu given", i,
                  static_cast<unsigned long long>(MK), static_cast<unsigned long long>(tmp_bytes));
  int8_t* codes = reinterpret_cast<int8_t*>(tmp);
  std::memset(codes, 1, MK);  // +1 is a valid code of every format
  const float one = 1.0f;
  kernels::QLayerWeights w;
  w.codes8 = codes, w.scale = &one, w.nscale = 1;
  for (int b = 0; b < kernels::kQlBackendCount; ++b) {
    QLayerDesc db = c.desc;
    db.backend = static_cast<QlBackend>(b);
    if (!kernels::qlayer_backend_supports(db.backend, db.wfmt, db.wbits, db.afmt, db.abits)) continue;
    const uint64_t pb = kernels::qlayer_packed_bytes(db);
    if (pb == 0) continue;
    if (pb > pack_bytes)
      return report(LOWBIT_ERR_INTERNAL, msg, msg_bytes, "lbm: op %u: %llu bytes to pack the layer, %llu given", i,
                    static_cast<unsigned long long>(pb), static_cast<unsigned long long>(pack_bytes));
    QLayerPacked p;
    const Status st = kernels::qlayer_pack(db, w, pack, pb, &p);
    const uint64_t n = st == Status::ok ? kernels::qlayer_workspace_bytes(p, c.geom, c.in, c.out) : 0;
    if (n == 0)
      return report(LOWBIT_ERR_UNSUPPORTED, msg, msg_bytes, "lbm: op %u '%s': the integer layer refuses this shape "
                    "(backend %s, %s)", i, v.str(v.op(i).name_offset), kernels::qlayer_backend_name(db.backend),
                    kernels::status_name(st));
    *ws = n > *ws ? n : *ws;
  }
  return LOWBIT_OK;
}

// Sizes of everything but the workspaces (those need packing: see fill_workspaces).
struct Sizes {
  uint64_t header, slots, tables, packed;
  uint64_t codes_max;    // the largest layer's decoded codes: prepare's scratch (the region is at least this)
  uint64_t scratch_max;  // codes plus a packed copy: plan_size's sizing scratch (host memory, not the arena)
};

Sizes static_sizes(const ModelView& v, uint32_t max_batch, Tables* t) {
  const uint32_t T = v.h.tensor_count, O = v.h.op_count;
  Sizes s{};
  s.header = 128;
  s.slots = a64(uint64_t(O) * sizeof(OpSlot));
  s.tables = tables_bytes(T, O);
  for (uint32_t i = 0; i < O; ++i) {
    const LbmOp op = v.op(i);
    t->packed_bytes[i] = t->codes_bytes[i] = 0;
    if (!is_layer(op)) continue;
    LayerCall c;
    layer_call(v, op, max_batch, &c);
    if (!c.integer) continue;
    t->packed_bytes[i] = a64(max_packed_bytes(c.desc));
    t->codes_bytes[i] = a64(uint64_t(c.desc.geom.O * c.desc.geom.K()) * code_bytes(v.tensor(op.inputs[kInW])));
    s.packed += t->packed_bytes[i];
    const uint64_t sc = t->codes_bytes[i] + t->packed_bytes[i];
    s.codes_max = t->codes_bytes[i] > s.codes_max ? t->codes_bytes[i] : s.codes_max;
    s.scratch_max = sc > s.scratch_max ? sc : s.scratch_max;
  }
  return s;
}

// The trial packings go to each layer's packed slot (packed_base: prepare, the arena's packed part) or, when only
// sizing (packed_base null), into tmp behind the codes.
lowbit_status fill_workspaces(const ModelView& v, uint32_t max_batch, Tables& t, uint8_t* tmp, uint64_t tmp_bytes,
                              uint8_t* packed_base, char* msg, size_t msg_bytes) {
  uint64_t packed_at = 0;
  for (uint32_t i = 0; i < v.h.op_count; ++i) {
    const LbmOp op = v.op(i);
    t.ws_bytes[i] = 0;
    if (!is_layer(op)) continue;
    LayerCall c;
    layer_call(v, op, max_batch, &c);
    if (!c.integer) continue;
    if (t.packed_bytes[i] == 0)
      return report(LOWBIT_ERR_UNSUPPORTED, msg, msg_bytes, "lbm: op %u '%s': no integer backend takes these formats",
                    i, v.str(op.name_offset));
    uint64_t ws = 0;
    uint8_t* pack = packed_base ? packed_base + packed_at : tmp + t.codes_bytes[i];
    const uint64_t pack_bytes =
        packed_base ? t.packed_bytes[i] : (tmp_bytes > t.codes_bytes[i] ? tmp_bytes - t.codes_bytes[i] : 0);
    packed_at += t.packed_bytes[i];
    const lowbit_status st = layer_workspace(v, i, c, tmp, tmp_bytes, pack, pack_bytes, &ws, msg, msg_bytes);
    if (st != LOWBIT_OK) return st;
    t.ws_bytes[i] = a64(ws) + a64(c.tbuf_bytes);
  }
  return LOWBIT_OK;
}

// Liveness and first-fit placement of activations and workspaces; returns the region's size.
uint64_t place_buffers(const ModelView& v, uint32_t max_batch, Tables& t) {
  const uint32_t T = v.h.tensor_count, O = v.h.op_count;
  for (uint32_t k = 0; k < T; ++k) {
    t.act_off[k] = kNoOffset;
    t.first[k] = t.last[k] = 0;
    const LbmTensor r = v.tensor(k);
    t.act_bytes[k] = is_constant(r) ? 0 : a64(activation_sample_bytes(r) * max_batch + kernels::kPackedOverreadBytes);
  }
  for (uint32_t i = 0; i < O; ++i) {
    const LbmOp op = v.op(i);
    t.first[op.outputs[0]] = i;
    t.last[op.outputs[0]] = i;
    t.ws_off[i] = kNoOffset;
  }
  for (uint32_t i = 0; i < O; ++i) {
    const LbmOp op = v.op(i);
    for (uint32_t s = 0; s < op.n_inputs; ++s)
      if (op.inputs[s] != kLbmNoTensor) t.last[op.inputs[s]] = i;  // ops are in order: the last write wins
  }
  uint64_t end = 0;
  // A buffer [off, off + size) alive over ops [first, last].
  auto place = [&](uint64_t size, uint32_t first, uint32_t last) {
    uint64_t off = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (uint32_t k = 0; k < T; ++k) {
        if (t.act_off[k] == kNoOffset || t.first[k] > last || t.last[k] < first) continue;
        if (off < t.act_off[k] + t.act_bytes[k] && t.act_off[k] < off + size) off = t.act_off[k] + t.act_bytes[k], moved = true;
      }
      for (uint32_t j = 0; j < O; ++j) {
        if (t.ws_off[j] == kNoOffset || j > last || j < first) continue;
        if (off < t.ws_off[j] + t.ws_bytes[j] && t.ws_off[j] < off + size) off = t.ws_off[j] + t.ws_bytes[j], moved = true;
      }
    }
    end = off + size > end ? off + size : end;
    return off;
  };
  for (uint32_t i = 0; i < O; ++i) {
    const uint32_t y = v.op(i).outputs[0];
    if (y != v.h.output_tensor) t.act_off[y] = place(t.act_bytes[y], t.first[y], t.last[y]);
    if (t.ws_bytes[i] > 0) t.ws_off[i] = place(t.ws_bytes[i], i, i);
  }
  return end;
}

lowbit_status layout(const ModelView& v, uint32_t max_batch, Tables& t, uint8_t* tmp, uint64_t tmp_bytes,
                     uint8_t* packed_base, const Sizes& s, uint64_t* region, char* msg, size_t msg_bytes) {
  const lowbit_status st = fill_workspaces(v, max_batch, t, tmp, tmp_bytes, packed_base, msg, msg_bytes);
  if (st != LOWBIT_OK) return st;
  const uint64_t used = place_buffers(v, max_batch, t);
  *region = a64(used > s.codes_max ? used : s.codes_max);
  return LOWBIT_OK;
}

}  // namespace

void layer_call(const ModelView& v, const LbmOp& op, uint32_t batch, LayerCall* c) {
  *c = LayerCall{};
  const LbmTensor x = v.tensor(op.inputs[kInX]), w = v.tensor(op.inputs[kInW]), y = v.tensor(op.outputs[0]);
  const bool conv = op.kind == static_cast<uint16_t>(LbmOpKind::conv2d);
  c->integer = w.codes != static_cast<uint8_t>(LbmCodes::none);
  kernels::ConvGeom g;
  g.N = batch;
  g.C = x.dims[0];
  g.O = w.dims[0];
  if (conv) {
    g.H = x.dims[1], g.W = x.dims[2];
    g.KH = op.attrs[kAttrKernelH], g.KW = op.attrs[kAttrKernelW];
    g.SH = op.attrs[kAttrStrideH], g.SW = op.attrs[kAttrStrideW];
    g.PH = op.attrs[kAttrPadH], g.PW = op.attrs[kAttrPadW];
    g.G = op.attrs[kAttrGroups];
  } else {
    g.H = g.W = 1;
  }
  kernels::conv_geom_finish(g);  // the loader checked the geometry
  c->geom = g;
  if (!c->integer) return;
  QLayerDesc& d = c->desc;
  d.geom = g;
  d.conv = conv;
  d.wfmt = weight_format(w.codes);
  d.wbits = w.bits;
  d.wzero = w.zero_point;
  const bool binary_x = x.dtype == static_cast<uint8_t>(LbmDtype::b1);
  d.afmt = binary_x ? kernels::QlActFormat::binary : kernels::QlActFormat::uint;
  d.abits = binary_x ? 1 : x.bits;
  d.azero = binary_x ? 0 : static_cast<int32_t>(x.zero_point);
  c->in = binary_x ? kernels::QlInput::nhwc_bits : kernels::QlInput::nhwc_u8;
  switch (static_cast<LbmEpilogue>(op.attrs[kAttrEpilogue])) {
    case LbmEpilogue::f32: c->out = kernels::QlEpilogue::f32; break;
    case LbmEpilogue::bits: c->out = kernels::QlEpilogue::bits; break;
    case LbmEpilogue::requant: c->out = kernels::QlEpilogue::u8, c->out_nhwc = true; break;
    case LbmEpilogue::thresholds:
      c->out = kernels::QlEpilogue::f32, c->out_nhwc = true, c->unit_scale = true;
      c->tbuf_bytes = uint64_t(batch) * uint64_t(g.O) * uint64_t(g.OH * g.OW) * 4;
      break;
  }
  (void)y;
}

namespace {
template <class Code>
void decode_codes(const ModelView& v, const LbmTensor& t, Code* out) {
  const uint64_t rows = t.dims[0], row_len = tensor_numel(t) / rows;
  const uint8_t* p = v.blob(t);
  const LbmDtype d = static_cast<LbmDtype>(t.dtype);
  const uint64_t row_bytes = lbm_packed_bytes(d, 1, row_len);
  const int32_t shift = t.codes == static_cast<uint8_t>(LbmCodes::uint) ? (1 << (t.bits - 1)) : 0;
  for (uint64_t r = 0; r < rows; ++r) {
    Code* o = out + r * row_len;
    if (d == LbmDtype::b1 || d == LbmDtype::t2) {
      const uint64_t plane_row = (row_len + 63) / 64 * 8;
      const uint8_t* mask = p + r * plane_row;
      const uint8_t* sign = d == LbmDtype::t2 ? p + (rows + r) * plane_row : mask;
      for (uint64_t k = 0; k < row_len; ++k) {
        const bool neg = (sign[k / 8] >> (k % 8)) & 1u;
        const bool nz = d == LbmDtype::b1 || ((mask[k / 8] >> (k % 8)) & 1u);
        o[k] = static_cast<Code>(!nz ? 0 : neg ? -1 : 1);
      }
      continue;
    }
    const unsigned width = d == LbmDtype::i2 ? 2 : d == LbmDtype::i4 ? 4 : 8;
    const uint8_t* row = p + r * row_bytes;
    for (uint64_t k = 0; k < row_len; ++k) {
      const uint64_t bit = k * width;
      const uint32_t field = (row[bit / 8] >> (bit % 8)) & ((1u << width) - 1);
      const int32_t s = field >= (1u << (width - 1)) ? int32_t(field) - int32_t(1u << width) : int32_t(field);
      o[k] = static_cast<Code>(s + shift);
    }
  }
}
}  // namespace

void decode_weight_codes(const ModelView& v, const LbmTensor& t, int16_t* out) { decode_codes(v, t, out); }

uint64_t plan_scratch_bytes(const ModelView& v, uint32_t max_batch) {
  const uint32_t T = v.h.tensor_count, O = v.h.op_count;
  uint64_t scratch_max = 0;
  for (uint32_t i = 0; i < O; ++i) {
    const LbmOp op = v.op(i);
    if (!is_layer(op)) continue;
    LayerCall c;
    layer_call(v, op, max_batch, &c);
    if (!c.integer) continue;
    const uint64_t sc = a64(uint64_t(c.desc.geom.O * c.desc.geom.K()) * code_bytes(v.tensor(op.inputs[kInW]))) +
                        a64(max_packed_bytes(c.desc));
    scratch_max = sc > scratch_max ? sc : scratch_max;
  }
  return tables_bytes(T, O) + scratch_max;
}

lowbit_status plan_size(const ModelView& v, uint32_t max_batch, uint8_t* scratch, uint64_t scratch_bytes,
                        uint64_t* total, char* msg, size_t msg_bytes) {
  const uint32_t T = v.h.tensor_count, O = v.h.op_count;
  const uint64_t tb = tables_bytes(T, O);
  if (scratch_bytes < tb) return report(LOWBIT_ERR_ARENA, msg, msg_bytes, "lbm: sizing scratch too small");
  Tables t = carve_tables(scratch, T, O);
  const Sizes s = static_sizes(v, max_batch, &t);
  uint64_t region = 0;
  const lowbit_status st =
      layout(v, max_batch, t, scratch + tb, scratch_bytes - tb, nullptr, s, &region, msg, msg_bytes);
  if (st != LOWBIT_OK) return st;
  *total = s.header + s.slots + s.tables + s.packed + region;
  return LOWBIT_OK;
}

bool plan_is_prepared(const ModelView& v, uint32_t crc, uint32_t max_batch, const uint8_t* arena) {
  ArenaHeader h;
  std::memcpy(&h, arena, sizeof h);
  return h.magic == kArenaMagic && h.crc == crc && h.blob == reinterpret_cast<uintptr_t>(v.base) &&
         h.arena == reinterpret_cast<uintptr_t>(arena) && h.max_batch == max_batch &&
         h.isa == static_cast<uint32_t>(kernels::active_isa()) && h.op_count == v.h.op_count &&
         h.tensor_count == v.h.tensor_count;
}

lowbit_status plan_prepare(const ModelView& v, uint32_t crc, uint32_t max_batch, uint8_t* arena, uint64_t arena_bytes,
                           char* msg, size_t msg_bytes) {
  if (plan_is_prepared(v, crc, max_batch, arena)) return LOWBIT_OK;
  const uint32_t T = v.h.tensor_count, O = v.h.op_count;
  ArenaHeader h{};
  std::memcpy(arena, &h, sizeof h);  // unprepared until the end
  h.slots_off = 128;
  const uint64_t slots_bytes = a64(uint64_t(O) * sizeof(OpSlot));
  h.act_off_off = h.slots_off + slots_bytes;
  const uint64_t tb = tables_bytes(T, O);
  if (arena_bytes < h.act_off_off + tb)
    return report(LOWBIT_ERR_ARENA, msg, msg_bytes, "lbm: arena of %llu bytes, the plan tables alone need %llu",
                  static_cast<unsigned long long>(arena_bytes), static_cast<unsigned long long>(h.act_off_off + tb));
  Tables t = carve_tables(arena + h.act_off_off, T, O);
  const Sizes s = static_sizes(v, max_batch, &t);
  h.packed_off = h.act_off_off + tb;
  h.region_off = h.packed_off + s.packed;
  if (arena_bytes < h.region_off + s.codes_max)
    return report(LOWBIT_ERR_ARENA, msg, msg_bytes, "lbm: arena of %llu bytes is too small (lowbit_arena_size)",
                  static_cast<unsigned long long>(arena_bytes));
  uint64_t region = 0;
  lowbit_status st = layout(v, max_batch, t, arena + h.region_off, arena_bytes - h.region_off, arena + h.packed_off,
                            s, &region, msg, msg_bytes);
  if (st != LOWBIT_OK) return st;
  h.bytes = h.region_off + region;
  if (arena_bytes < h.bytes)
    return report(LOWBIT_ERR_ARENA, msg, msg_bytes, "lbm: arena of %llu bytes, the plan needs %llu (lowbit_arena_size)",
                  static_cast<unsigned long long>(arena_bytes), static_cast<unsigned long long>(h.bytes));
  // Pack every integer layer: decode its codes into the (still unused) region, then qlayer_pack for this CPU.
  OpSlot* slots = reinterpret_cast<OpSlot*>(arena + h.slots_off);
  uint64_t packed_at = h.packed_off;
  for (uint32_t i = 0; i < O; ++i) {
    OpSlot slot{};
    slot.ws_off = t.ws_off[i] == kNoOffset ? 0 : h.region_off + t.ws_off[i];
    slot.ws_bytes = t.ws_bytes[i];
    const LbmOp op = v.op(i);
    if (is_layer(op) && t.packed_bytes[i] > 0) {
      LayerCall c;
      layer_call(v, op, max_batch, &c);
      QLayerDesc d = c.desc;
      d.backend = chosen_backend(d);
      const LbmTensor wt = v.tensor(op.inputs[kInW]);
      const LbmTensor ws = v.tensor(op.inputs[kInWScale]);
      const float one = 1.0f;
      kernels::QLayerWeights w;
      if (code_bytes(wt) == 1) {
        int8_t* codes = reinterpret_cast<int8_t*>(arena + h.region_off);
        decode_codes(v, wt, codes);
        w.codes8 = codes;
      } else {
        int16_t* codes = reinterpret_cast<int16_t*>(arena + h.region_off);
        decode_codes(v, wt, codes);
        w.codes16 = codes;
      }
      w.scale = c.unit_scale ? &one : v.data<float>(ws);
      w.nscale = c.unit_scale ? 1 : ws.dims[0];
      const Status ps = kernels::qlayer_pack(d, w, arena + packed_at, t.packed_bytes[i], &slot.packed);
      if (ps != Status::ok)
        return report(LOWBIT_ERR_INTERNAL, msg, msg_bytes, "lbm: op %u '%s': packing for %s failed: %s", i,
                      v.str(op.name_offset), kernels::qlayer_backend_name(d.backend), kernels::status_name(ps));
      slot.packed_off = packed_at;
      slot.packed_bytes = t.packed_bytes[i];
      slot.qlayer_ws = t.ws_bytes[i] - a64(c.tbuf_bytes);
      packed_at += t.packed_bytes[i];
    }
    std::memcpy(&slots[i], &slot, sizeof slot);
  }
  for (uint32_t k = 0; k < T; ++k)
    if (t.act_off[k] != kNoOffset) t.act_off[k] += h.region_off;
  h.magic = kArenaMagic;
  h.crc = crc;
  h.blob = reinterpret_cast<uintptr_t>(v.base);
  h.arena = reinterpret_cast<uintptr_t>(arena);
  h.max_batch = max_batch;
  h.isa = static_cast<uint32_t>(kernels::active_isa());
  h.op_count = O;
  h.tensor_count = T;
  std::memcpy(arena, &h, sizeof h);
  return LOWBIT_OK;
}

}  // namespace lowbit::runtime
