//! A token authorizer: `Authorization: Bearer <user>.<signature>`, where the signature is
//! the hex HMAC-SHA256 of `<user>` under a shared secret. Valid tokens are allowed as
//! `<user>`, with the token's issue scheme in the context; anything else is denied.
//!
//! Mint a token for `ada` (the secret below is a demo value: a real authorizer gets its
//! secret from configuration):
//!
//! ```sh
//! echo "ada.$(printf ada | openssl dgst -sha256 -hmac wasmgate-demo-secret | cut -d' ' -f2)"
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmgate_sdk::{AuthRequest, Decision, authorizer};

const SECRET: &[u8] = b"wasmgate-demo-secret";

#[authorizer]
fn check(req: AuthRequest) -> Decision {
    let Some((user, signature)) = req.bearer_token().and_then(|t| t.split_once('.')) else {
        return Decision::deny();
    };
    let Ok(signature) = hex::decode(signature) else {
        return Decision::deny();
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET) else {
        return Decision::deny();
    };
    mac.update(user.as_bytes());
    // `verify_slice` compares in constant time.
    if mac.verify_slice(&signature).is_err() {
        return Decision::deny();
    }
    Decision::allow(user).with_context("scheme", "hmac-sha256")
}
