#include "auth/webauthn/authenticator_data.hpp"

#include "auth/crypto.hpp"
#include "auth/webauthn/cbor.hpp"

namespace authsvc::auth::webauthn {

namespace {

constexpr std::size_t rp_id_hash_size = 32;
constexpr std::size_t fixed_size = rp_id_hash_size + 1 + 4;
constexpr std::size_t aaguid_size = 16;

} // namespace

result<authenticator_data> parse_authenticator_data(const bytes& raw) {
  using E = errc;
  if (raw.size() < fixed_size)
    return {E::malformed_authenticator_data, "shorter than 37 bytes"};
  authenticator_data out;
  out.raw = raw;
  out.rp_id_hash.assign(raw.begin(), raw.begin() + rp_id_hash_size);
  std::uint8_t f = raw[rp_id_hash_size];
  out.flags_byte = f;
  out.flags.user_present = (f & 0x01) != 0;
  out.flags.user_verified = (f & 0x04) != 0;
  out.flags.backup_eligible = (f & 0x08) != 0;
  out.flags.backup_state = (f & 0x10) != 0;
  out.flags.attested_credential_data = (f & 0x40) != 0;
  out.flags.extension_data = (f & 0x80) != 0;
  const std::uint8_t* p = raw.data() + rp_id_hash_size + 1;
  out.sign_count = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16)
                   | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  std::size_t pos = fixed_size;
  if (out.flags.attested_credential_data) {
    if (raw.size() - pos < aaguid_size + 2)
      return {E::malformed_authenticator_data, "truncated attested data"};
    attested_credential cred;
    cred.aaguid.assign(raw.begin() + pos, raw.begin() + pos + aaguid_size);
    pos += aaguid_size;
    std::size_t id_len = (std::size_t{raw[pos]} << 8) | raw[pos + 1];
    pos += 2;
    if (raw.size() - pos < id_len)
      return {E::malformed_authenticator_data, "truncated credential id"};
    cred.credential_id.assign(raw.begin() + pos, raw.begin() + pos + id_len);
    pos += id_len;
    std::size_t consumed = 0;
    auto key = parse_cose_key(raw.data() + pos, raw.size() - pos, consumed);
    if (!key)
      return key.err();
    cred.public_key = std::move(key.value());
    pos += consumed;
    out.attested = std::move(cred);
  }
  if (out.flags.extension_data) {
    std::size_t consumed = 0;
    auto ext = cbor_decode(raw.data() + pos, raw.size() - pos, consumed);
    if (!ext || !cbor_isa_map(ext.get()))
      return {E::malformed_authenticator_data, "extensions are not a map"};
    out.extensions.assign(raw.begin() + pos, raw.begin() + pos + consumed);
    pos += consumed;
  }
  if (pos != raw.size())
    return {E::malformed_authenticator_data, "trailing bytes"};
  return out;
}

status check_authenticator_data(const authenticator_data& data,
                                const ceremony_policy& policy) {
  bool rp_ok = false;
  for (const auto& id : policy.rp_ids)
    rp_ok |= constant_time_equal(data.rp_id_hash, sha256(id));
  if (!rp_ok)
    return {errc::rp_id_mismatch, "rpIdHash matches no accepted RP ID"};
  if (policy.require_user_presence && !data.flags.user_present)
    return {errc::user_not_present, "UP flag clear"};
  if (policy.require_user_verification && !data.flags.user_verified)
    return {errc::user_not_verified, "UV flag clear"};
  if (data.flags.backup_state && !data.flags.backup_eligible)
    return {errc::backup_state_invalid, "BS set without BE"};
  return passed{};
}

std::string format_aaguid(const bytes& aaguid) {
  std::string hex = hex_encode(aaguid);
  if (hex.size() != 32)
    return hex;
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4)
         + '-' + hex.substr(16, 4) + '-' + hex.substr(20);
}

} // namespace authsvc::auth::webauthn
