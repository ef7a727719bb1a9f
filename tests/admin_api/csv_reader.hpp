#pragma once
// RFC 4180 reader for the export tests: quoted fields, doubled quotes, CRLF rows.
#include <stdexcept>
#include <string>
#include <vector>

namespace gm::test {

inline std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, in_row = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        in_row = true;
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
                else quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            if (!field.empty()) throw std::runtime_error("quote inside an unquoted field");
            quoted = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
        } else if (c == '\r') {
            if (i + 1 >= text.size() || text[i + 1] != '\n') throw std::runtime_error("CR without LF");
            ++i;
            row.push_back(std::move(field));
            field.clear();
            rows.push_back(std::move(row));
            row.clear();
            in_row = false;
        } else if (c == '\n') {
            throw std::runtime_error("bare LF outside quotes");
        } else {
            field += c;
        }
    }
    if (quoted) throw std::runtime_error("unterminated quote");
    if (in_row) throw std::runtime_error("last row without CRLF");
    return rows;
}

}  // namespace gm::test
