#include "storage/row_reader.hpp"

#include "storage/record_codec.hpp"

namespace gm::storage {

void read_record(const sqlite_stmt& st, int c, metering::usage_record& r) {
    // Text columns are assigned from views: a reused record's strings keep their buffers, so
    // a row allocates nothing its fields already had room for.
    r.id.assign(st.col_view(c + 0));
    r.user_id.assign(st.col_view(c + 1));
    r.user_email.clear();  // not a column of ApiUsage: the caller's join
    r.is_guest = st.col_int(c + 2) != 0;
    r.endpoint.assign(st.col_view(c + 3));
    r.model.assign(st.col_view(c + 4));
    r.bot_id.assign(st.col_view(c + 5));
    const std::int64_t input = st.col_int(c + 6);
    const std::int64_t output = st.col_int(c + 7);
    r.tokens.total = st.col_int(c + 8);
    r.duration_ms = st.col_int(c + 9);
    r.success = st.col_int(c + 10) != 0;
    r.error_message.assign(st.col_view(c + 11));
    // decode_metadata leaves what the text does not name: back to a fresh record's values
    // first, so that nothing of the row before stays in a reused record.
    r.tags.clear();
    r.problems.clear();
    r.response_id.clear();
    r.model_version.clear();
    r.http_method.clear();
    r.path.clear();
    r.ending = metering::call_ending::completed;
    r.source = metering::usage_source::none;
    r.ttfb_ms = -1;
    r.request_bytes = 0;
    r.response_bytes = 0;
    r.tokens.prompt_audio = 0;
    r.tokens.cached_audio = 0;
    decode_metadata(st.col_view(c + 12), r);
    r.created_at_ms = st.col_int(c + 13);
    r.tokens.cached = st.col_int(c + 14);
    r.tokens.thoughts = st.col_int(c + 15);
    r.tokens.tool_use_prompt = st.col_int(c + 16);
    // The spec's columns hold sums; the parts come back from the detail columns.
    r.tokens.prompt = input - r.tokens.tool_use_prompt;
    r.tokens.candidates = output - r.tokens.thoughts;
    r.cost_pico_usd = st.col_int(c + 17);
    r.priced = st.col_int(c + 18) != 0;
    r.price_version.assign(st.col_view(c + 19));
    r.http_status = static_cast<int>(st.col_int(c + 20));
    r.gemini_method.assign(st.col_view(c + 21));
    r.streamed = st.col_int(c + 22) != 0;
    r.partial = st.col_int(c + 23) != 0;
}

metering::usage_record read_record(const sqlite_stmt& st, int c) {
    metering::usage_record r;
    read_record(st, c, r);
    return r;
}

}  // namespace gm::storage
