// Attribute validators and converters, with Neutron's wording. Each returns the value in
// canonical form (booleans from "true"/"1", CIDRs normalised, MACs lower case) or an
// error whose message is the reason. The API words it as Neutron does (attribute_error):
// a value that could not be converted (a boolean, an integer) is Neutron's InvalidInput,
// "Invalid input for operation: <reason>."; any other is HTTPBadRequest,
// "Invalid input for <attribute>. Reason: <reason>."
#pragma once
#include <boost/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace nt::check {

using Value = boost::json::value;
using Check = std::function<Result<Value>(const Value&)>;

std::string show(const Value& v);  // the value as Neutron's messages print it

Check string(size_t max_len = 255);
Check name();                        // string(255)
Check nullable_string(size_t max_len = 255);
Check boolean();
Check uuid();
Check nullable_uuid();
Check integer(int64_t min, int64_t max);
Check one_of(std::vector<std::string> values, bool nullable = false);
Check ip_address(bool nullable = false);
Check cidr();                        // any CIDR, normalised
Check mac_address();
Check dict(bool nullable = false);
Check list_of(Check item);
Check uuid_list();
Check string_list(size_t max_len = 255);
Check nameservers();
Check host_routes();
Check any();

// Neutron's validate_subnet for one item of a subnet list: a CIDR with a '/', an IPv4 one
// written canonically (host bits may be set); the error is the reason, as Neutron words it.
Status subnet_text(const Value& item);
// type:subnet_list: a list without duplicates (as given), each item a subnet_text.
Check subnet_list();

// The error for attribute `name` whose check failed with `e`, worded as Neutron words it.
Error attribute_error(const std::string& name, const Error& e);

// Converts a filter's query-string value to the attribute's JSON type before comparing.
Result<bool> to_bool(const Value& v);

}  // namespace nt::check
