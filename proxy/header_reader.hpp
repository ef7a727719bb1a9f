#pragma once
// Reads a message header into a parser: what the buffer already holds first, then socket
// reads until the header is whole. Beast's async_read_header does the same through two
// nested composed operations; this costs one plain handler per socket read, and nothing
// asynchronous at all when the header is already in the buffer.
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <utility>

namespace gm::proxy {

// Feeds the buffered bytes to the parser and drops those it used. True when the header is
// complete (ec clear) or malformed (ec set); false when more bytes are needed.
// Parser: header_parser, or anything with its put / got_some / put_eof.
template <class Parser>
bool parse_buffered_header(boost::beast::flat_buffer& buffer, Parser& parser, boost::beast::error_code& ec) {
    ec = {};
    if (buffer.size() == 0)
        return false;
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == boost::beast::http::error::need_more) {
        ec = {};
        return false;
    }
    return true;
}

// What a failed read means for the header being read, as Beast reports it: the peer
// closing before the first byte is end_of_stream, in the middle partial_message.
template <class Parser>
boost::beast::error_code header_read_error(Parser& parser, boost::beast::error_code ec) {
    if (ec != boost::asio::error::eof)
        return ec;
    if (!parser.got_some())
        return boost::beast::http::error::end_of_stream;
    boost::beast::error_code eof_ec;
    parser.put_eof(eof_ec);
    return eof_ec ? eof_ec : boost::beast::error_code(boost::beast::http::error::partial_message);
}

// Reads until the parser holds a whole header, then calls handler(error_code). The
// buffer and parser must outlive the operation (the handler owns their owner).
// read(mutable_buffer, bool first, read_handler) starts one socket read; first is true for
// the operation's first read.
template <class Read, class Parser, class Handler>
void async_read_header_with(Read read, boost::beast::flat_buffer& buffer, std::size_t read_size, Parser& parser,
                            Handler handler, bool first = true) {
    auto b = buffer.prepare(read_size);
    read(b, first, [read, &buffer, read_size, &parser, handler = std::move(handler)](boost::beast::error_code ec,
                                                                                      std::size_t n) mutable {
        buffer.commit(n);
        if (ec) {
            handler(header_read_error(parser, ec));
            return;
        }
        boost::beast::error_code parse_ec;
        if (parse_buffered_header(buffer, parser, parse_ec)) {
            handler(parse_ec);
            return;
        }
        async_read_header_with(std::move(read), buffer, read_size, parser, std::move(handler), false);
    });
}

// The same with the stream's own async_read_some. The stream must outlive the operation.
template <class Stream, class Parser, class Handler>
void async_read_header_into(Stream& stream, boost::beast::flat_buffer& buffer, std::size_t read_size, Parser& parser,
                            Handler handler) {
    async_read_header_with(
        [&stream](boost::asio::mutable_buffer b, bool, auto&& h) { stream.async_read_some(b, std::move(h)); }, buffer,
        read_size, parser, std::move(handler));
}

}  // namespace gm::proxy
