#pragma once
// The raw requests that the strict HTTP/1.1 layer must refuse, one (at least) per rule of
// docs/HTTP.md, shared by the serve and gateway conformance tests: each test sends the bytes as
// they are and expects the status and, as the JSON "error", the rule id. A refusal by Beast's
// parser (rule "parser") or by any other check would fail the test: the id proves it was ours.
#include <ostream>
#include <string>
#include <vector>

namespace outboard::testing {

struct HttpVector {
  std::string name;  // the test's name: the rule id with '_'
  std::string wire;  // sent as is
  int status;
  std::string rule;
};

// gtest prints a parameter with this: the name, not the bytes.
inline void PrintTo(HttpVector const& v, std::ostream* os) { *os << v.name; }

inline std::string vector_head(std::string const& start, std::string const& fields) {
  return start + "\r\n" + fields + "\r\n";
}

inline std::vector<HttpVector> refused_requests() {
  auto get = [](std::string const& fields) { return vector_head("GET /v HTTP/1.1", "Host: a\r\n" + fields); };
  auto post = [](std::string const& fields, std::string const& body) {
    return vector_head("POST /v HTTP/1.1", "Host: a\r\n" + fields) + body;
  };
  auto chunked = [&](std::string const& body) { return post("Transfer-Encoding: chunked\r\n", body); };
  std::string many = "Host: a\r\n";
  for (int i = 0; i < 120; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  return {
      {"request_line", vector_head("GET  /v HTTP/1.1", "Host: a\r\n"), 400, "request-line"},
      {"method_token", vector_head("G(T /v HTTP/1.1", "Host: a\r\n"), 400, "method-token"},
      {"target_char", vector_head("GET /caf\xc3\xa9 HTTP/1.1", "Host: a\r\n"), 400, "target-char"},
      {"target_form", vector_head("GET * HTTP/1.1", "Host: a\r\n"), 400, "target-form"},
      {"target_too_long", vector_head("GET /" + std::string(9000, 'a') + " HTTP/1.1", "Host: a\r\n"), 414,
       "target-too-long"},
      {"version_syntax", vector_head("GET /v HTTP/1.10", "Host: a\r\n"), 400, "version-syntax"},
      {"version_unsupported", vector_head("GET /v HTTP/1.2", "Host: a\r\n"), 505, "version-unsupported"},
      {"bare_cr", get("X: a\rb\r\n"), 400, "bare-cr"},
      {"bare_lf", "GET /v HTTP/1.1\nHost: a\n\n", 400, "bare-lf"},
      {"whitespace_after_start_line", vector_head("GET /v HTTP/1.1", " Host: a\r\n"), 400,
       "whitespace-after-start-line"},
      {"obs_fold", get("X: a\r\n b\r\n"), 400, "obs-fold"},
      {"field_name_token", get("Bad Name: x\r\n"), 400, "field-name-token"},
      {"field_name_whitespace", get("X : v\r\n"), 400, "field-name-whitespace"},
      {"field_value_char", get(std::string("X: a\0b\r\n", 8)), 400, "field-value-char"},
      {"host_missing", vector_head("GET /v HTTP/1.1", ""), 400, "host-missing"},
      {"host_duplicate", get("Host: a\r\n"), 400, "host-duplicate"},
      {"host_invalid", vector_head("GET /v HTTP/1.1", "Host: a/b\r\n"), 400, "host-invalid"},
      {"host_mismatch", vector_head("GET http://b/v HTTP/1.1", "Host: a\r\n"), 400, "host-mismatch"},
      {"cl_duplicate", post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), 400, "cl-duplicate"},
      {"cl_list", post("Content-Length: 5,5\r\n", "hello"), 400, "cl-list"},
      {"cl_invalid", post("Content-Length: +5\r\n", "hello"), 400, "cl-invalid"},
      {"cl_overflow", post("Content-Length: 99999999999999999999\r\n", "hello"), 400, "cl-overflow"},
      {"te_and_cl", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400, "te-and-cl"},
      {"te_http10", vector_head("POST /v HTTP/1.0", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n", 400,
       "te-http10"},
      {"te_chunked_twice", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400,
       "te-chunked-twice"},
      {"te_not_chunked_last", post("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"), 400,
       "te-not-chunked-last"},
      {"te_unsupported", post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501, "te-unsupported"},
      {"te_invalid", post("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n"), 400, "te-invalid"},
      {"head_too_large", get("X: " + std::string(17000, 'v') + "\r\n"), 431, "head-too-large"},
      {"too_many_fields", vector_head("GET /v HTTP/1.1", many), 431, "too-many-fields"},
      {"chunk_size", chunked("zz\r\nhello\r\n0\r\n\r\n"), 400, "chunk-size"},
      {"chunk_size_overflow", chunked("10000000000000000\r\nhello\r\n0\r\n\r\n"), 400, "chunk-size-overflow"},
      {"chunk_ext", chunked("5;a=\"b\r\nhello\r\n0\r\n\r\n"), 400, "chunk-ext"},
      {"chunk_line_too_long", chunked("5;a=" + std::string(5000, 'x')), 400, "chunk-line-too-long"},
      {"chunk_data_crlf", chunked("5\r\nhelloXY0\r\n\r\n"), 400, "chunk-data-crlf"},
      {"chunk_bare_lf", chunked("5\nhello\r\n0\r\n\r\n"), 400, "bare-lf"},
      {"trailer_forbidden", chunked("0\r\nContent-Length: 5\r\n\r\n"), 400, "trailer-forbidden"},
      {"trailer_too_large", chunked("0\r\nX: " + std::string(9000, 'v') + "\r\n\r\n"), 431, "trailer-too-large"},
  };
}

// Requests that differ from a refused one only in the offending detail: accepted, so answered
// by the application (whatever its status), never with a rule id.
inline std::vector<HttpVector> accepted_twins() {
  return {
      {"leading_empty_lines", "\r\n\r\nGET /v HTTP/1.1\r\nHost: a\r\n\r\n", 0, ""},
      {"obs_text_in_a_value", "GET /v HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", 0, ""},
      {"percent_encoded_target", "GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n", 0, ""},
      {"http10_without_host", "GET /v HTTP/1.0\r\n\r\n", 0, ""},
      {"chunk_ext_quoted", "POST /v HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5;a=\"b\\\"c\"\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n",
       0, ""},
      {"chunked_case_insensitive", "POST /v HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", 0, ""},
  };
}

}  // namespace outboard::testing
