#include "policy/check.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <boost/json.hpp>

#include "policy/neutron_tables.h"
#include "policy/python.h"

namespace nt::policy {
namespace json = boost::json;

namespace {

constexpr int kMaxDepth = 64;  // nested parentheses and "not"s

nt::unexpected<Error> syntax_error(std::string message) {
  return fail(Errc::invalid_argument, Origin::config, std::move(message));
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// ---- tokens (oslo.policy's _parse_tokenize) ----------------------------------------------

enum class TokenKind { lparen, rparen, and_, or_, not_, string, check };

struct Token {
  TokenKind kind;
  std::string_view text;
  size_t column;  // 1-based
};

void tokenize_word(std::string_view word, size_t column, std::vector<Token>& out) {
  size_t lead = 0;
  while (lead < word.size() && word[lead] == '(') out.push_back({TokenKind::lparen, "(", column + lead++});
  std::string_view tok = word.substr(lead);  // oslo's `tok` after the leading parentheses
  if (tok.empty()) return;
  size_t trail = 0;
  while (trail < tok.size() && tok[tok.size() - 1 - trail] == ')') ++trail;
  std::string_view clean = tok.substr(0, tok.size() - trail);
  size_t at = column + lead;
  std::string lowered = ascii_lower(clean);
  if (lowered == "and") out.push_back({TokenKind::and_, clean, at});
  else if (lowered == "or") out.push_back({TokenKind::or_, clean, at});
  else if (lowered == "not") out.push_back({TokenKind::not_, clean, at});
  else if (!clean.empty()) {
    bool is_quoted = tok.size() >= 2 && (tok.front() == '"' || tok.front() == '\'') && tok.back() == tok.front();
    out.push_back({is_quoted ? TokenKind::string : TokenKind::check, is_quoted ? tok.substr(1, tok.size() - 2) : clean, at});
  }
  for (size_t i = 0; i < trail; ++i) out.push_back({TokenKind::rparen, ")", at + clean.size() + i});
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) tokenize_word(text.substr(start, i - start), start + 1, tokens);
  }
  return tokens;
}

// ---- leaves (oslo's _parse_check with Neutron's registered checks) -----------------------

Result<Template> parse_template(std::string_view s) {
  Template t;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.pieces.push_back({std::move(literal), false});
    literal.clear();
  };
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '%') { literal += s[i++]; continue; }
    if (i + 1 < s.size() && s[i + 1] == '%') { literal += '%'; i += 2; continue; }
    if (i + 1 >= s.size() || s[i + 1] != '(')
      return syntax_error("unsupported \"%\" format in " + quoted(s) + ": only %(name)s and %% are understood");
    size_t j = i + 2;
    int depth = 1;  // Python allows nested parentheses in the key
    for (; j < s.size() && depth > 0; ++j) depth += s[j] == '(' ? 1 : s[j] == ')' ? -1 : 0;
    if (depth > 0) return syntax_error("unclosed \"%(\" in " + quoted(s));
    if (j >= s.size() || s[j] != 's')
      return syntax_error("unsupported \"%\" format in " + quoted(s) + ": only %(name)s and %% are understood");
    flush();
    t.pieces.push_back({std::string(s.substr(i + 2, j - 1 - (i + 2))), true});
    i = j + 1;
  }
  flush();
  return t;
}

CredentialKey credential_key(std::string_view key) {
  static const std::pair<std::string_view, CredentialKey> kKeys[] = {
      {"user_id", CredentialKey::user_id}, {"user", CredentialKey::user_id},
      {"project_id", CredentialKey::project_id}, {"tenant_id", CredentialKey::project_id},
      {"tenant", CredentialKey::project_id}, {"domain_id", CredentialKey::domain_id},
      {"domain", CredentialKey::domain_id}, {"user_domain_id", CredentialKey::user_domain_id},
      {"user_domain", CredentialKey::user_domain_id}, {"project_domain_id", CredentialKey::project_domain_id},
      {"project_domain", CredentialKey::project_domain_id}, {"project_name", CredentialKey::project_name},
      {"tenant_name", CredentialKey::project_name}, {"user_name", CredentialKey::user_name},
      {"system_scope", CredentialKey::system_scope}, {"system", CredentialKey::system},
      {"roles", CredentialKey::roles}, {"is_admin", CredentialKey::is_admin},
      {"is_admin_project", CredentialKey::is_admin_project}, {"service_user_id", CredentialKey::none},
      {"service_user_domain_id", CredentialKey::none}, {"service_project_id", CredentialKey::none},
      {"service_project_domain_id", CredentialKey::none}, {"service_roles", CredentialKey::empty_list},
  };
  for (const auto& [name, k] : kKeys)
    if (name == key) return k;
  return CredentialKey::absent;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// str(ast.literal_eval(kind)) for the Python literals a policy could use as a kind:
// True/False/None, integers, simple floats and quoted strings without escapes.
std::optional<std::string> python_literal(std::string_view kind) {
  if (kind == "True" || kind == "False" || kind == "None") return std::string(kind);
  if (kind.size() >= 2 && (kind.front() == '\'' || kind.front() == '"') && kind.back() == kind.front()) {
    std::string_view inner = kind.substr(1, kind.size() - 2);
    if (inner.find(kind.front()) == std::string_view::npos && inner.find('\\') == std::string_view::npos)
      return std::string(inner);
    return std::nullopt;
  }
  std::string_view digits = kind;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (all_digits(digits) && (digits.size() == 1 || digits.front() != '0')) {
    std::string s(digits);
    return (negative && s != "0") ? "-" + s : s;
  }
  size_t dot = digits.find('.');
  if (dot != std::string_view::npos && all_digits(digits.substr(0, dot)) && all_digits(digits.substr(dot + 1))) {
    double d = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), d);
    return python_str(json::value(negative ? -d : d));
  }
  return std::nullopt;
}

Result<GenericCheck> make_generic(std::string_view kind, std::string_view match) {
  NT_ASSIGN(Template t, parse_template(match));
  GenericCheck g{std::move(t)};
  if (auto literal = python_literal(kind)) {
    g.kind_is_literal = true;
    g.literal = std::move(*literal);
    return g;
  }
  size_t dot = kind.find('.');
  g.key = credential_key(kind.substr(0, dot));
  g.dotted = dot != std::string_view::npos;
  return g;
}

Result<RoleCheck> make_role(std::string_view match) {
  NT_ASSIGN(Template t, parse_template(match));
  RoleCheck r{std::move(t)};
  if (r.match.is_constant()) r.lowered_constant = ascii_lower(r.match.constant());
  return r;
}

Result<OwnerCheck> make_owner(std::string_view match) {
  if (match.size() < 4 || !match.starts_with("%(") || !match.ends_with(")s"))
    return syntax_error("tenant_id check " + quoted("tenant_id:" + std::string(match)) +
                        ": the match must be %(<field>)s");
  OwnerCheck o;
  o.field = std::string(match.substr(2, match.size() - 4));
  size_t sep = o.field.find(':');
  if (sep == std::string::npos) sep = o.field.find('_');
  if (sep != std::string::npos) {
    o.parent = o.field.substr(0, sep);
    o.parent_field = o.field.substr(sep + 1);
    if (o.parent == "network") o.foreign_key = "network_id";
    if (o.parent == "security_group") o.foreign_key = "security_group_id";
  }
  return o;
}

Result<json::value> convert_field_value(std::string_view resource, std::string_view attribute, std::string_view value) {
  switch (field_conversion(resource, attribute)) {
    case Conversion::none: return json::value(json::string(value));
    case Conversion::boolean: {  // neutron-lib's convert_to_boolean (oslo strutils, strict)
      std::string_view v = value;
      while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
      while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
      std::string lowered = ascii_lower(v);
      for (const char* t : {"1", "t", "true", "on", "y", "yes"}) if (lowered == t) return json::value(true);
      for (const char* f : {"0", "f", "false", "off", "n", "no"}) if (lowered == f) return json::value(false);
      return syntax_error(quoted(value) + " cannot be converted to boolean (" + std::string(resource) + ":" +
                          std::string(attribute) + ")");
    }
    case Conversion::integer: {
      int64_t n = 0;
      std::string_view v = value;
      if (!v.empty() && v.front() == '+') v.remove_prefix(1);
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || v.empty())
        return syntax_error(quoted(value) + " is not an integer (" + std::string(resource) + ":" +
                            std::string(attribute) + ")");
      return json::value(n);
    }
  }
  return json::value(json::string(value));
}

Result<FieldCheck> make_field(std::string_view match) {
  size_t colon = match.find(':');
  size_t equals = colon == std::string_view::npos ? colon : match.find('=', colon + 1);
  if (colon == std::string_view::npos || equals == std::string_view::npos)
    return syntax_error("field check " + quoted("field:" + std::string(match)) +
                        ": expected field:<resource>:<attribute>=<value>");
  FieldCheck f;
  f.resource = std::string(match.substr(0, colon));
  f.attribute = std::string(match.substr(colon + 1, equals - colon - 1));
  std::string_view raw = match.substr(equals + 1);
  NT_ASSIGN(f.value, convert_field_value(f.resource, f.attribute, raw));
  if (raw.starts_with('~')) {
    try {
      f.pattern = std::make_shared<const std::regex>(std::string(raw.substr(1)), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return syntax_error("field check " + quoted("field:" + std::string(match)) + ": bad regular expression: " + e.what());
    }
  }
  return f;
}

Result<LeafEntry> make_leaf(std::string_view token) {
  size_t colon = token.find(':');
  if (colon == std::string_view::npos)
    return syntax_error(quoted(token) + " is not a check: expected <kind>:<match>, \"@\" or \"!\"");
  std::string_view kind = token.substr(0, colon);
  std::string_view match = token.substr(colon + 1);
  LeafEntry leaf{RuleReference{}, std::string(token)};
  if (kind == "http" || kind == "https") return syntax_error("remote " + std::string(kind) + " checks are not supported");
  if (kind == "rule") leaf.check = RuleReference{std::string(match)};
  else if (kind == "role") { NT_ASSIGN(leaf.check, make_role(match)); }
  else if (kind == "tenant_id") { NT_ASSIGN(leaf.check, make_owner(match)); }
  else if (kind == "field") {
    NT_ASSIGN(FieldCheck f, make_field(match));
    leaf.text = "field:" + f.resource + ":" + f.attribute + ":" + python_str(f.value);  // as oslo prints it
    leaf.check = std::move(f);
  } else { NT_ASSIGN(leaf.check, make_generic(kind, match)); }
  return leaf;
}

// ---- grammar -----------------------------------------------------------------------------

// A parsed expression before it is laid out in the arena.
struct Expr {
  NodeKind kind = NodeKind::always;
  std::vector<Expr> children;
  uint32_t leaf = 0;
  bool parenthesized = false;
};

class Parser {
 public:
  Parser(std::vector<Token> tokens, Arena& arena) : tokens_(std::move(tokens)), arena_(arena) {}

  Result<Expr> parse_all() {
    NT_ASSIGN(Expr e, parse_or(0));
    if (pos_ < tokens_.size()) return unexpected_token(tokens_[pos_], "\"and\", \"or\" or the end of the rule");
    return e;
  }

 private:
  const Token* peek() const { return pos_ < tokens_.size() ? &tokens_[pos_] : nullptr; }
  bool next_is(TokenKind k) const { return peek() && peek()->kind == k; }

  nt::unexpected<Error> unexpected_token(const Token& t, std::string_view expected) const {
    return syntax_error("unexpected token " + quoted(t.text) + " at column " + std::to_string(t.column) +
                        ", expected " + std::string(expected));
  }

  Result<Expr> parse_or(int depth) {
    NT_ASSIGN(Expr first, parse_and(depth, false));
    if (!next_is(TokenKind::or_)) return first;
    Expr any{NodeKind::any_of};
    any.children.push_back(std::move(first));
    while (next_is(TokenKind::or_)) {
      ++pos_;
      NT_ASSIGN(Expr operand, parse_and(depth, true));
      any.children.push_back(std::move(operand));
    }
    return any;
  }

  // After an "or", oslo extends a parenthesized "and" with the "and"s that follow it
  // ("a or (b and c) and d" is "a or (b and c and d)"): the same truth, the same text.
  Result<Expr> parse_and(int depth, bool after_or) {
    NT_ASSIGN(Expr first, parse_unary(depth));
    if (!next_is(TokenKind::and_)) return first;
    Expr all{NodeKind::all_of};
    if (after_or && first.kind == NodeKind::all_of) all = std::move(first);
    else all.children.push_back(std::move(first));
    all.parenthesized = false;
    while (next_is(TokenKind::and_)) {
      ++pos_;
      NT_ASSIGN(Expr operand, parse_unary(depth));
      all.children.push_back(std::move(operand));
    }
    return all;
  }

  Result<Expr> parse_unary(int depth) {
    if (depth > kMaxDepth) return syntax_error("rule nested deeper than " + std::to_string(kMaxDepth) + " levels");
    const Token* t = peek();
    if (!t) return syntax_error("unexpected end of the rule, expected a check");
    ++pos_;
    switch (t->kind) {
      case TokenKind::not_: {
        NT_ASSIGN(Expr operand, parse_unary(depth + 1));
        Expr negation{NodeKind::negation};
        negation.children.push_back(std::move(operand));
        return negation;
      }
      case TokenKind::lparen: {
        NT_ASSIGN(Expr inner, parse_or(depth + 1));
        if (!next_is(TokenKind::rparen)) {
          if (!peek()) return syntax_error("missing \")\" for the \"(\" at column " + std::to_string(t->column));
          return unexpected_token(*peek(), "\"and\", \"or\" or \")\"");
        }
        ++pos_;
        inner.parenthesized = true;
        return inner;
      }
      case TokenKind::string:
        return syntax_error("quoted string " + quoted(t->text) + " at column " + std::to_string(t->column) +
                            " is not a check");
      case TokenKind::check: return parse_check_token(*t);
      default: return unexpected_token(*t, "a check, \"not\" or \"(\"");
    }
  }

  Result<Expr> parse_check_token(const Token& t) {
    if (t.text == "@") return Expr{NodeKind::always};
    if (t.text == "!") return Expr{NodeKind::never};
    auto leaf = make_leaf(t.text);
    if (!leaf) {
      Error e = std::move(leaf).error();
      e.message += " (column " + std::to_string(t.column) + ")";
      return nt::unexpected(std::move(e));
    }
    arena_.leaves.push_back(std::move(*leaf));
    Expr e{NodeKind::leaf};
    e.leaf = static_cast<uint32_t>(arena_.leaves.size() - 1);
    return e;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  Arena& arena_;
};

// Lays the expression out in the arena: children before parents, siblings contiguous.
uint32_t emit(const Expr& e, Arena& arena) {
  Node node{e.kind};
  if (e.kind == NodeKind::leaf) node.first = e.leaf;
  else if (e.kind == NodeKind::negation) node.first = emit(e.children[0], arena);
  else if (e.kind == NodeKind::all_of || e.kind == NodeKind::any_of) {
    std::vector<uint32_t> ids;
    for (const auto& child : e.children) ids.push_back(emit(child, arena));
    node.first = static_cast<uint32_t>(arena.children.size());
    node.count = static_cast<uint32_t>(ids.size());
    arena.children.insert(arena.children.end(), ids.begin(), ids.end());
  }
  arena.nodes.push_back(node);
  return static_cast<uint32_t>(arena.nodes.size() - 1);
}

}  // namespace

Result<uint32_t> parse_check(std::string_view text, Arena& arena) {
  if (text.empty()) {
    arena.nodes.push_back(Node{NodeKind::always});
    return static_cast<uint32_t>(arena.nodes.size() - 1);
  }
  std::vector<Token> tokens = tokenize(text);
  if (tokens.empty()) return syntax_error("the rule is only whitespace (an empty string means always)");
  size_t leaves_before = arena.leaves.size();
  Parser parser(std::move(tokens), arena);
  auto expr = parser.parse_all();
  if (!expr) {
    arena.leaves.resize(leaves_before);
    return nt::unexpected(std::move(expr).error());
  }
  return emit(*expr, arena);
}

std::string to_text(const Arena& arena, uint32_t id) {
  const Node& node = arena.nodes[id];
  switch (node.kind) {
    case NodeKind::always: return "@";
    case NodeKind::never: return "!";
    case NodeKind::negation: return "not " + to_text(arena, node.first);
    case NodeKind::leaf: return arena.leaves[node.first].text;
    case NodeKind::all_of:
    case NodeKind::any_of: {
      std::string out = "(";
      for (uint32_t i = 0; i < node.count; ++i) {
        if (i) out += node.kind == NodeKind::all_of ? " and " : " or ";
        out += to_text(arena, arena.children[node.first + i]);
      }
      return out + ")";
    }
  }
  return "!";
}

}  // namespace nt::policy
