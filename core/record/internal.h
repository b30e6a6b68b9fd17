// What the files of core/record/ share and nothing else sees.
#pragma once

#include "util/error.h"

// Starts libsodium (once per process). Every entry point of the module that
// hashes, signs or verifies calls it first: rp_record_open and the key
// functions. RP_OK, or RP_EIO after reporting.
int rp_record_crypto_ready(rp_diags *diags);
