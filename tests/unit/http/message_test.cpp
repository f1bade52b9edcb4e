// The response head we write ourselves (io::async_write_response) must be byte for byte what
// Beast's serializer writes for the same response: the status line, every field as it is (repeated
// ones too), the blank line. Compared against Beast's own `operator<<`, which runs its serializer.
#include "http/message.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace outboard::http {
namespace {

std::string by_beast(Response const& response) {
  std::ostringstream out;
  out << response;
  return out.str();
}

std::string by_us(Response const& response) { return response_head_text(response) + response.body(); }

std::vector<Response> responses() {
  std::vector<Response> all;
  all.push_back(json_response(Status::ok, nlohmann::json{{"user", "ada"}}));
  all.push_back(json_error(Status::not_found, "not_found", "no such order"));

  Response custom{Status::forbidden, 11};
  custom.reason("Go Away");
  custom.set(bhttp::field::set_cookie, "a=1; Path=/");
  custom.insert(bhttp::field::set_cookie, "b=2; Path=/; HttpOnly");
  custom.set("X-Request-Id", "r-17");
  custom.keep_alive(false);
  custom.body() = "no";
  custom.prepare_payload();
  all.push_back(custom);

  Response old{Status::ok, 10};  // HTTP/1.0, keep-alive asked for
  old.keep_alive(true);
  old.body() = "hello";
  old.prepare_payload();
  all.push_back(old);

  Response upgrade{Status::switching_protocols, 11};
  upgrade.set(bhttp::field::upgrade, "websocket");
  upgrade.set(bhttp::field::connection, "Upgrade");
  all.push_back(upgrade);

  Response empty{Status::no_content, 11};
  all.push_back(empty);

  Response unknown;  // a status Beast has no reason for
  unknown.result(599);
  unknown.body() = "?";
  unknown.prepare_payload();
  all.push_back(unknown);
  return all;
}

TEST(ResponseHeadText, IsWhatBeastsSerializerWritesForTheSameResponse) {
  for (auto const& response : responses()) {
    EXPECT_EQ(by_us(response), by_beast(response)) << by_beast(response);
  }
}

TEST(ResponseHeadText, EndsTheHeadWithOneBlankLineBeforeTheBody) {
  auto response = json_response(Status::created, nlohmann::json{{"id", 1}});
  std::string const head = response_head_text(response);
  EXPECT_EQ(head.rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << head;
  ASSERT_GE(head.size(), 4u);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_EQ(head.find("\r\n\r\n"), head.size() - 4);
}

// The request side, for the gateway's relay: a request header as Beast's serializer writes it.
TEST(RequestHeaderText, IsWhatBeastsSerializerWritesForTheSameRequest) {
  std::vector<Request> all;
  Request get{bhttp::verb::get, "/cart?x=1&y=%20", 11};
  get.set(bhttp::field::host, "shop.example");
  get.set("X-Forwarded-For", "10.0.0.1");
  get.insert("X-Forwarded-For", "10.0.0.2");
  all.push_back(get);
  Request post{bhttp::verb::post, "/cart/items", 10};  // HTTP/1.0
  post.set(bhttp::field::host, "a");
  post.body() = R"({"sku":"tea"})";
  post.prepare_payload();
  all.push_back(post);
  Request custom;  // a method Beast has no verb for
  custom.method_string("PURGE");
  custom.target("/cache/item");
  custom.set(bhttp::field::host, "a");
  all.push_back(custom);
  for (auto const& request : all) {
    std::ostringstream out;
    out << request;
    EXPECT_EQ(header_text(request.base()) + request.body(), out.str()) << out.str();
  }
}

}  // namespace
}  // namespace outboard::http
