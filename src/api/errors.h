// The ONE place where an Error becomes an HTTP status and a NeutronError body.
#pragma once
#include "common/error.h"
#include "http/message.h"

namespace nt {
int http_status(Errc code);
HttpResponse error_response(const Error& error);
}  // namespace nt
