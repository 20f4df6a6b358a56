#include "auth/webauthn/cbor.hpp"

#include <limits>
#include <vector>

namespace authsvc::auth::webauthn {

namespace {

// Nesting deeper than this never occurs in WebAuthn structures and would
// only make libcbor's recursive release expensive.
constexpr std::size_t max_depth = 16;

// Tracks where the first item ends while libcbor's streaming decoder reports
// heads one by one. Each stack entry counts the children a container still
// expects; -1 marks an indefinite container that ends with a break.
struct scan_state {
  std::vector<std::int64_t> open;
  std::size_t remaining = 0; // bytes left in the input, bounds claimed sizes
  bool done = false;
  bool bad = false;

  void element() {
    if (!open.empty() && open.back() > 0)
      --open.back();
  }

  void close_finished() {
    while (!open.empty() && open.back() == 0)
      open.pop_back();
    if (open.empty())
      done = true;
  }

  void leaf() {
    element();
    close_finished();
  }

  void container(std::uint64_t children) {
    element();
    // Each child needs at least one byte, so a larger claim is a lie.
    if (children > remaining) {
      bad = true;
      return;
    }
    if (children == 0) {
      close_finished();
      return;
    }
    if (open.size() >= max_depth) {
      bad = true;
      return;
    }
    open.push_back(static_cast<std::int64_t>(children));
  }

  void indefinite() {
    element();
    if (open.size() >= max_depth) {
      bad = true;
      return;
    }
    open.push_back(-1);
  }

  void end_indefinite() {
    if (open.empty() || open.back() != -1) {
      bad = true;
      return;
    }
    open.pop_back();
    close_finished();
  }
};

scan_state& state(void* ctx) {
  return *static_cast<scan_state*>(ctx);
}

template <class T>
void on_leaf(void* ctx, T) {
  state(ctx).leaf();
}

void on_leaf0(void* ctx) {
  state(ctx).leaf();
}

void on_string(void* ctx, cbor_data, std::size_t) {
  state(ctx).leaf();
}

void on_indefinite(void* ctx) {
  state(ctx).indefinite();
}

void on_array(void* ctx, std::size_t size) {
  state(ctx).container(size);
}

void on_map(void* ctx, std::size_t size) {
  if (size > std::numeric_limits<std::uint64_t>::max() / 2) {
    state(ctx).bad = true;
    return;
  }
  state(ctx).container(size * 2);
}

void on_tag(void* ctx, uint64_t) {
  state(ctx).container(1);
}

void on_break(void* ctx) {
  state(ctx).end_indefinite();
}

cbor_callbacks make_callbacks() {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = on_leaf<uint8_t>;
  cb.uint16 = on_leaf<uint16_t>;
  cb.uint32 = on_leaf<uint32_t>;
  cb.uint64 = on_leaf<uint64_t>;
  cb.negint8 = on_leaf<uint8_t>;
  cb.negint16 = on_leaf<uint16_t>;
  cb.negint32 = on_leaf<uint32_t>;
  cb.negint64 = on_leaf<uint64_t>;
  cb.byte_string = on_string;
  cb.byte_string_start = on_indefinite;
  cb.string = on_string;
  cb.string_start = on_indefinite;
  cb.array_start = on_array;
  cb.indef_array_start = on_indefinite;
  cb.map_start = on_map;
  cb.indef_map_start = on_indefinite;
  cb.tag = on_tag;
  cb.float2 = on_leaf<float>;
  cb.float4 = on_leaf<float>;
  cb.float8 = on_leaf<double>;
  cb.undefined = on_leaf0;
  cb.null = on_leaf0;
  cb.boolean = on_leaf<bool>;
  cb.indef_break = on_break;
  return cb;
}

// Finds the length of the first item without building it.
std::optional<std::size_t> first_item_length(const std::uint8_t* data,
                                             std::size_t size) {
  static const cbor_callbacks callbacks = make_callbacks();
  scan_state st;
  std::size_t pos = 0;
  while (!st.done) {
    if (pos >= size)
      return std::nullopt;
    st.remaining = size - pos;
    auto res = cbor_stream_decode(data + pos, size - pos, &callbacks, &st);
    if (res.status != CBOR_DECODER_FINISHED || res.read == 0 || st.bad)
      return std::nullopt;
    pos += res.read;
  }
  return pos;
}

bool text_equals(const cbor_item_t* item, std::string_view key) {
  if (!cbor_isa_string(item) || !cbor_string_is_definite(item))
    return false;
  return cbor_string_length(item) == key.size()
         && std::string_view{reinterpret_cast<const char*>(
                                 cbor_string_handle(item)),
                             cbor_string_length(item)}
                == key;
}

} // namespace

cbor_ptr cbor_decode(const std::uint8_t* data, std::size_t size,
                     std::size_t& consumed) {
  consumed = 0;
  if (data == nullptr || size == 0)
    return nullptr;
  auto len = first_item_length(data, size);
  if (!len)
    return nullptr;
  cbor_load_result res;
  cbor_ptr item{cbor_load(data, *len, &res)};
  if (!item || res.error.code != CBOR_ERR_NONE || res.read != *len)
    return nullptr;
  consumed = *len;
  return item;
}

const cbor_item_t* cbor_map_find(const cbor_item_t* map, std::string_view key) {
  if (map == nullptr || !cbor_isa_map(map))
    return nullptr;
  auto* pairs = cbor_map_handle(map);
  for (std::size_t i = 0; i < cbor_map_size(map); ++i)
    if (text_equals(pairs[i].key, key))
      return pairs[i].value;
  return nullptr;
}

const cbor_item_t* cbor_map_find(const cbor_item_t* map, std::int64_t key) {
  if (map == nullptr || !cbor_isa_map(map))
    return nullptr;
  auto* pairs = cbor_map_handle(map);
  for (std::size_t i = 0; i < cbor_map_size(map); ++i)
    if (auto k = cbor_to_int(pairs[i].key); k && *k == key)
      return pairs[i].value;
  return nullptr;
}

std::optional<bytes> cbor_to_bytes(const cbor_item_t* item) {
  if (item == nullptr || !cbor_isa_bytestring(item))
    return std::nullopt;
  if (cbor_bytestring_is_definite(item)) {
    auto* p = cbor_bytestring_handle(item);
    return bytes(p, p + cbor_bytestring_length(item));
  }
  bytes out;
  auto** chunks = cbor_bytestring_chunks_handle(item);
  for (std::size_t i = 0; i < cbor_bytestring_chunk_count(item); ++i) {
    auto chunk = cbor_to_bytes(chunks[i]);
    if (!chunk)
      return std::nullopt;
    out.insert(out.end(), chunk->begin(), chunk->end());
  }
  return out;
}

std::optional<std::string> cbor_to_text(const cbor_item_t* item) {
  if (item == nullptr || !cbor_isa_string(item))
    return std::nullopt;
  if (cbor_string_is_definite(item))
    return std::string(reinterpret_cast<const char*>(cbor_string_handle(item)),
                       cbor_string_length(item));
  std::string out;
  auto** chunks = cbor_string_chunks_handle(item);
  for (std::size_t i = 0; i < cbor_string_chunk_count(item); ++i) {
    auto chunk = cbor_to_text(chunks[i]);
    if (!chunk)
      return std::nullopt;
    out += *chunk;
  }
  return out;
}

std::optional<std::int64_t> cbor_to_int(const cbor_item_t* item) {
  if (item == nullptr)
    return std::nullopt;
  constexpr auto max
      = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (cbor_isa_uint(item)) {
    auto v = cbor_get_int(item);
    if (v > max)
      return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (cbor_isa_negint(item)) {
    // libcbor stores -1 - n as n.
    auto v = cbor_get_int(item);
    if (v > max)
      return std::nullopt;
    return -1 - static_cast<std::int64_t>(v);
  }
  return std::nullopt;
}

} // namespace authsvc::auth::webauthn
