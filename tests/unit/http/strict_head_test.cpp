// The strict HTTP/1.1 head rules (http/strict.hpp) on plain bytes: one vector per rule, each
// asserting the exact status and rule id, with a valid twin that differs only in the offending
// detail and is accepted. So each test fails when its rule's check is removed (the vector passes)
// or when the check is too wide (the twin is refused). docs/HTTP.md names these tests.
#include <gtest/gtest.h>

#include <string>

#include "http/strict.hpp"

namespace outboard::http {
namespace {

struct Vector {
  std::string name;  // test name suffix: the rule id with '_' (plus a variant)
  std::string bad;
  int status;
  std::string rule;
  std::string twin;
};

void PrintTo(Vector const& v, std::ostream* os) { *os << v.name; }

std::string head(std::string start, std::string fields) { return start + "\r\n" + fields + "\r\n"; }
std::string get(std::string fields) { return head("GET / HTTP/1.1", std::move(fields)); }
std::string post(std::string fields) { return head("POST /p HTTP/1.1", "Host: a\r\n" + std::move(fields)); }

std::string many_fields(int n) {
  std::string out = "Host: a\r\n";
  for (int i = 1; i < n; ++i) out += "X-" + std::to_string(i) + ": v\r\n";
  return out;
}

std::vector<Vector> request_vectors() {
  return {
      {"request_line", head("GET  / HTTP/1.1", "Host: a\r\n"), 400, "request-line", get("Host: a\r\n")},
      {"request_line_trailing_space", head("GET / HTTP/1.1 ", "Host: a\r\n"), 400, "request-line", get("Host: a\r\n")},
      {"method_token", head("G(T / HTTP/1.1", "Host: a\r\n"), 400, "method-token", head("G-T / HTTP/1.1", "Host: a\r\n")},
      {"target_char_non_ascii", head("GET /caf\xc3\xa9 HTTP/1.1", "Host: a\r\n"), 400, "target-char",
       head("GET /caf%C3%A9 HTTP/1.1", "Host: a\r\n")},
      {"target_char_percent", head("GET /a%zz HTTP/1.1", "Host: a\r\n"), 400, "target-char",
       head("GET /a%20 HTTP/1.1", "Host: a\r\n")},
      {"target_char_control", head("GET /a\x01 HTTP/1.1", "Host: a\r\n"), 400, "target-char",
       head("GET /a HTTP/1.1", "Host: a\r\n")},
      {"target_char_fragment", head("GET /a#f HTTP/1.1", "Host: a\r\n"), 400, "target-char",
       head("GET /a?f HTTP/1.1", "Host: a\r\n")},
      {"target_form_asterisk", head("GET * HTTP/1.1", "Host: a\r\n"), 400, "target-form",
       head("OPTIONS * HTTP/1.1", "Host: a\r\n")},
      {"target_form_connect", head("CONNECT /x HTTP/1.1", "Host: a:443\r\n"), 400, "target-form",
       head("CONNECT a:443 HTTP/1.1", "Host: a:443\r\n")},
      {"target_form_relative", head("GET x HTTP/1.1", "Host: a\r\n"), 400, "target-form",
       head("GET http://a/x HTTP/1.1", "Host: a\r\n")},
      {"target_too_long", head("GET /" + std::string(9000, 'a') + " HTTP/1.1", "Host: a\r\n"), 414, "target-too-long",
       head("GET /" + std::string(8000, 'a') + " HTTP/1.1", "Host: a\r\n")},
      {"version_syntax", head("GET / HTTP/1.10", "Host: a\r\n"), 400, "version-syntax", get("Host: a\r\n")},
      {"version_syntax_case", head("GET / http/1.1", "Host: a\r\n"), 400, "version-syntax", get("Host: a\r\n")},
      {"version_unsupported_2", head("GET / HTTP/2.0", "Host: a\r\n"), 505, "version-unsupported",
       head("GET / HTTP/1.0", "")},
      {"version_unsupported_1_2", head("GET / HTTP/1.2", "Host: a\r\n"), 505, "version-unsupported",
       get("Host: a\r\n")},
      {"bare_cr", get("Host: a\r\nX: a\rb\r\n"), 400, "bare-cr", get("Host: a\r\nX: ab\r\n")},
      {"bare_lf", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare-lf", get("Host: a\r\n")},
      {"bare_lf_end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare-lf", get("Host: a\r\n")},
      {"whitespace_after_start_line", get(" Host: a\r\n"), 400, "whitespace-after-start-line", get("Host: a\r\n")},
      {"obs_fold", get("Host: a\r\nX: a\r\n b\r\n"), 400, "obs-fold", get("Host: a\r\nX: a b\r\n")},
      {"obs_fold_tab", get("Host: a\r\nX: a\r\n\tb\r\n"), 400, "obs-fold", get("Host: a\r\nX: a\tb\r\n")},
      {"field_name_token", get("Host: a\r\nBad Name: x\r\n"), 400, "field-name-token", get("Host: a\r\nBad-Name: x\r\n")},
      {"field_name_token_no_colon", get("Host: a\r\nNoColon\r\n"), 400, "field-name-token", get("Host: a\r\nNo: Colon\r\n")},
      {"field_name_token_empty", get("Host: a\r\n: x\r\n"), 400, "field-name-token", get("Host: a\r\nY: x\r\n")},
      {"field_name_whitespace", get("Host: a\r\nX : v\r\n"), 400, "field-name-whitespace", get("Host: a\r\nX: v\r\n")},
      {"field_value_char_nul", get(std::string("Host: a\r\nX: a\0b\r\n", 17)), 400, "field-value-char",
       get("Host: a\r\nX: a b\r\n")},
      {"field_value_char_del", get("Host: a\r\nX: a\x7f\r\n"), 400, "field-value-char", get("Host: a\r\nX: a~\r\n")},
      {"field_value_char_control", get("Host: a\r\nX: a\x01\r\n"), 400, "field-value-char",
       get("Host: a\r\nX: a\x80\r\n")},  // obs-text is accepted
      {"host_missing", get(""), 400, "host-missing", head("GET / HTTP/1.0", "")},
      {"host_duplicate", get("Host: a\r\nHost: a\r\n"), 400, "host-duplicate", get("Host: a\r\n")},
      {"host_invalid", get("Host: a/b\r\n"), 400, "host-invalid", get("Host: a.b:80\r\n")},
      {"host_invalid_port", get("Host: a:8x\r\n"), 400, "host-invalid", get("Host: [::1]:8\r\n")},
      {"host_mismatch", head("GET http://b/x HTTP/1.1", "Host: a\r\n"), 400, "host-mismatch",
       head("GET http://b/x HTTP/1.1", "Host: B\r\n")},
      {"cl_duplicate", post("Content-Length: 5\r\nContent-Length: 5\r\n"), 400, "cl-duplicate",
       post("Content-Length: 5\r\n")},
      {"cl_list", post("Content-Length: 1000,1000\r\n"), 400, "cl-list", post("Content-Length: 1000\r\n")},
      {"cl_invalid_sign", post("Content-Length: +5\r\n"), 400, "cl-invalid", post("Content-Length: 5\r\n")},
      {"cl_invalid_space", post("Content-Length: 5 5\r\n"), 400, "cl-invalid", post("Content-Length:  55 \r\n")},
      {"cl_invalid_empty", post("Content-Length: \r\n"), 400, "cl-invalid", post("Content-Length: 0\r\n")},
      {"cl_overflow", post("Content-Length: 9999999999999999999\r\n"), 400, "cl-overflow",
       post("Content-Length: 000000000000000000001\r\n")},
      {"te_and_cl", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400, "te-and-cl",
       post("Transfer-Encoding: chunked\r\n")},
      {"te_http10", head("POST /p HTTP/1.0", "Transfer-Encoding: chunked\r\n"), 400, "te-http10",
       head("POST /p HTTP/1.0", "Content-Length: 5\r\n")},
      {"te_chunked_twice", post("Transfer-Encoding: chunked, chunked\r\n"), 400, "te-chunked-twice",
       post("Transfer-Encoding: Chunked\r\n")},
      {"te_chunked_twice_fields", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400,
       "te-chunked-twice", post("Transfer-Encoding: chunked\r\n")},
      {"te_not_chunked_last", post("Transfer-Encoding: chunked, gzip\r\n"), 400, "te-not-chunked-last",
       post("Transfer-Encoding: chunked\r\n")},
      {"te_not_chunked_last_identity", post("Transfer-Encoding: identity\r\n"), 400, "te-not-chunked-last",
       post("Transfer-Encoding: , chunked\r\n")},
      {"te_unsupported", post("Transfer-Encoding: gzip, chunked\r\n"), 501, "te-unsupported",
       post("Transfer-Encoding: chunked\r\n")},
      {"te_invalid", post("Transfer-Encoding: chunked;q=1\r\n"), 400, "te-invalid",
       post("Transfer-Encoding: chunked\r\n")},
      {"te_invalid_empty", post("Transfer-Encoding: ,\r\n"), 400, "te-invalid", post("Transfer-Encoding: chunked,\r\n")},
      {"head_too_large", get("Host: a\r\nX: " + std::string(17000, 'v') + "\r\n"), 431, "head-too-large",
       get("Host: a\r\nX: " + std::string(16000, 'v') + "\r\n")},
      {"too_many_fields", get(many_fields(101)), 431, "too-many-fields", get(many_fields(100))},
      {"head_incomplete", get("Host: a\r\n") + "X: y\r\n\r\n", 400, "head-incomplete", get("Host: a\r\nX: y\r\n")},
  };
}

class RequestRule : public ::testing::TestWithParam<Vector> {};

TEST_P(RequestRule, RefusedAndTwinAccepted) {
  auto const& v = GetParam();
  auto r = check_request_head(v.bad, HeadLimits{});
  ASSERT_TRUE(r.has_value()) << "accepted: " << v.bad.substr(0, 200);
  EXPECT_EQ(r->rule, v.rule) << r->detail;
  EXPECT_EQ(static_cast<int>(r->status), v.status) << r->rule;
  EXPECT_FALSE(r->detail.empty());
  auto twin = check_request_head(v.twin, HeadLimits{});
  EXPECT_FALSE(twin.has_value()) << "twin refused by " << twin->rule << ": " << twin->detail;
}

std::string head_vector_name(::testing::TestParamInfo<Vector> const& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Strict, RequestRule, ::testing::ValuesIn(request_vectors()), head_vector_name);

std::vector<Vector> response_vectors() {
  std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  return {
      {"status_line_code", "HTTP/1.1 20 OK\r\n\r\n", 502, "status-line", ok},
      {"status_line_range", "HTTP/1.1 600 X\r\n\r\n", 502, "status-line", "HTTP/1.1 599 X\r\n\r\n"},
      {"status_line_space", "HTTP/1.1 200OK\r\n\r\n", 502, "status-line", "HTTP/1.1 200 \r\n\r\n"},
      {"status_line_no_reason_space", "HTTP/1.1 204\r\n\r\n", 502, "status-line", "HTTP/1.1 204 \r\n\r\n"},
      {"status_line_reason_control", "HTTP/1.1 200 O\x01K\r\n\r\n", 502, "status-line", "HTTP/1.1 200 O K\r\n\r\n"},
      {"version_unsupported", "HTTP/2.0 200 OK\r\n\r\n", 502, "version-unsupported", "HTTP/1.0 200 OK\r\n\r\n"},
      {"version_syntax", "HTTP/1 200 OK\r\n\r\n", 502, "version-syntax", ok},
      {"te_and_cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 502, "te-and-cl",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"te_http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 502, "te-http10",
       "HTTP/1.0 200 OK\r\n\r\n"},
      {"te_not_chunked_last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 502, "te-not-chunked-last", ok},
      {"te_unsupported", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 502, "te-unsupported", ok},
      {"cl_duplicate", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 502, "cl-duplicate", ok},
      {"cl_list", "HTTP/1.1 200 OK\r\nContent-Length: 0, 0\r\n\r\n", 502, "cl-list", ok},
      {"obs_fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", 502, "obs-fold",
       "HTTP/1.1 200 OK\r\nX: a b\r\nContent-Length: 0\r\n\r\n"},
      {"field_value_char", "HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", 502, "field-value-char",
       "HTTP/1.1 200 OK\r\nX: a\r\n\r\n"},
      {"bare_lf", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 502, "bare-lf", ok},
      {"head_too_large", "HTTP/1.1 200 OK\r\nX: " + std::string(17000, 'v') + "\r\n\r\n", 502, "head-too-large", ok},
  };
}

class ResponseRule : public ::testing::TestWithParam<Vector> {};

TEST_P(ResponseRule, RefusedAndTwinAccepted) {
  auto const& v = GetParam();
  auto r = check_response_head(v.bad, HeadLimits{});
  ASSERT_TRUE(r.has_value()) << "accepted: " << v.bad.substr(0, 200);
  EXPECT_EQ(r->rule, v.rule) << r->detail;
  EXPECT_EQ(static_cast<int>(r->status), v.status) << r->rule;
  auto twin = check_response_head(v.twin, HeadLimits{});
  EXPECT_FALSE(twin.has_value()) << "twin refused by " << twin->rule << ": " << twin->detail;
}

INSTANTIATE_TEST_SUITE_P(Strict, ResponseRule, ::testing::ValuesIn(response_vectors()), head_vector_name);

TEST(HeadScan, FindsTheEndOfAHead) {
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"), 27u);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n"), std::nullopt);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r"), std::nullopt);
}

TEST(HeadScan, StopsAtABareLineEndingInsteadOfWaiting) {
  // So a client that ends lines with LF alone is refused at once, not after the read deadline.
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\nHost"), 15u);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\rX"), 15u);
}

TEST(HeadScan, LeadingEmptyLinesAreCountedForSkipping) {
  EXPECT_EQ(leading_empty_lines("\r\n\r\nGET / HTTP/1.1\r\n"), 4u);
  EXPECT_EQ(leading_empty_lines("\r\nGET"), 2u);
  EXPECT_EQ(leading_empty_lines("\r"), 0u);
  EXPECT_EQ(leading_empty_lines("\n\r\n"), 0u);  // a bare LF is no empty line: refused later
  EXPECT_EQ(leading_empty_lines("GET"), 0u);
}

TEST(HeadScan, AnUnfinishedHeadOverTheLimitsIsRefusedEarly) {
  HeadLimits limits;
  EXPECT_EQ(check_partial_head("GET /aaaa", limits, true), std::nullopt);
  auto long_line = check_partial_head("GET /" + std::string(9000, 'a'), limits, true);
  ASSERT_TRUE(long_line);
  EXPECT_EQ(long_line->rule, "target-too-long");
  EXPECT_EQ(long_line->status, Status::uri_too_long);
  // Only the target counts against the target limit: a long method is the head limit's business.
  EXPECT_EQ(check_partial_head(std::string(9000, 'M') + " /x", limits, true), std::nullopt);
  auto big = check_partial_head("GET / HTTP/1.1\r\nX: " + std::string(17000, 'a'), limits, true);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->rule, "head-too-large");
  EXPECT_EQ(big->status, Status::request_header_fields_too_large);
  auto backend = check_partial_head("HTTP/1.1 200 OK\r\nX: " + std::string(17000, 'a'), limits, false);
  ASSERT_TRUE(backend);
  EXPECT_EQ(backend->status, Status::bad_gateway);
}

TEST(RejectionResponse, CarriesTheRuleAsTheJsonErrorAndCloses) {
  auto res = rejection_response(Rejection{Status::bad_request, "obs-fold", "folded"});
  EXPECT_EQ(res.result(), Status::bad_request);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_NE(res.body().find(R"("error":"obs-fold")"), std::string::npos) << res.body();
  EXPECT_NE(res.body().find(R"("detail":"folded")"), std::string::npos) << res.body();
}

}  // namespace
}  // namespace outboard::http
