// The RS256 ID-token key (issue 16) is made when the first OAuth client is
// registered, not at every start: generating an RSA-2048 key costs ~100 ms,
// which every start of a service without OAuth clients (and every test)
// would pay. The admin route asks for it before it answers, so the client's
// first ID token is signed with RS256; a start finds it stored (or makes it
// when clients exist but the key does not, e.g. after the CLI registered
// one). Once stored it is a key like the others: published in the JWKS,
// reloaded, rotated.
#include "actors/db_timeout.hpp"
#include "actors/session_internal.hpp"
#include "core/log.hpp"
#include "db/keys_store.hpp"

namespace authsvc::session_detail {

namespace {

/// Answers everyone waiting for the key with `kid`, or with `error` when
/// it could not be made.
void answer_waiters(self_ptr self, const std::string& kid,
                    const caf::error& error = {}) {
  auto waiters = std::move(self->state.id_key_waiters);
  self->state.id_key_waiters.clear();
  for (auto& rp : waiters)
    if (error)
      rp.deliver(error);
    else
      rp.deliver(kid);
}

/// Reads the stored keys into memory, then calls `then`.
template <class F>
void reload_keys(self_ptr self, F then) {
  self->request(self->state.db, db_timeout, atom::query_atom_v,
                db::keys_store::load(self->state.now()))
      .then(
          [self, then](db::rowset& rs) {
            merge_keys(self, rs);
            then();
          },
          [self](caf::error& e) { answer_waiters(self, {}, e); });
}

/// Generates the key, stores it beside the current ones (retiring none)
/// and reloads.
void make_key(self_ptr self) {
  auto& st = self->state;
  auto key = auth::signing_key::generate(auth::jws_alg::rs256);
  const auto& kid = key.kid();
  self->request(st.db, db_timeout, atom::write_atom_v,
                add_key_unit(key, *st.opts.keys, st.now()))
      .then(
          [self, kid](db::unit_result& r) {
            if (!r.ok) {
              log::error("sessions", "signing-key-insert-failed",
                         {{"code", r.fail_code}});
              answer_waiters(self, {},
                             caf::make_error(caf::sec::runtime_error,
                                             "key insert failed"));
              return;
            }
            log::info("sessions", "signing-key-created",
                      {{"kid", kid}, {"alg", "RS256"}});
            reload_keys(self, [self, kid] { answer_waiters(self, kid); });
          },
          [self](caf::error& e) { answer_waiters(self, {}, e); });
}

} // namespace

caf::result<std::string> ensure_id_token_key(self_ptr self) {
  auto& st = self->state;
  if (const auto* k = st.keys.signing(auth::jws_alg::rs256))
    return k->key.kid();
  auto rp = self->make_response_promise<std::string>();
  bool making = !st.id_key_waiters.empty();
  st.id_key_waiters.push_back(rp);
  if (making)
    return rp;
  // Another node (or the CLI) may have stored one since the last reload.
  reload_keys(self, [self] {
    if (const auto* k = self->state.keys.signing(auth::jws_alg::rs256))
      answer_waiters(self, k->key.kid());
    else
      make_key(self);
  });
  return rp;
}

} // namespace authsvc::session_detail
