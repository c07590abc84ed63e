#include "relay/bencode.hpp"

#include <limits>
#include <utility>

namespace sg::relay::bencode {

Value Value::make_integer(std::int64_t v) {
    Value value;
    value.kind = Kind::integer;
    value.integer = v;
    return value;
}

Value Value::make_string(std::string_view s) {
    Value value;
    value.kind = Kind::string;
    value.string.assign(s);
    return value;
}

Value Value::make_list() {
    Value value;
    value.kind = Kind::list;
    return value;
}

Value Value::make_dict() {
    Value value;
    value.kind = Kind::dict;
    return value;
}

const Value* Value::find(std::string_view key) const noexcept {
    if (kind != Kind::dict) return nullptr;
    for (const auto& entry : dict) {
        if (entry.key == key) return &entry.value;
    }
    return nullptr;
}

Value& Value::add(std::string_view key, Value value) {
    dict.push_back(DictEntry{std::string(key), std::move(value)});
    return dict.back().value;
}

Value& Value::push(Value value) {
    list.push_back(std::move(value));
    return list.back();
}

bool Value::operator==(const Value& other) const {
    if (kind != other.kind) return false;
    switch (kind) {
        case Kind::integer:
            return integer == other.integer;
        case Kind::string:
            return string == other.string;
        case Kind::list:
            return list == other.list;
        case Kind::dict:
            return dict == other.dict;
    }
    return false;
}

namespace {

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

class Parser {
public:
    Parser(std::string_view input, const Limits& limits) : in_(input), limits_(limits) {}

    Result<Value> value(std::size_t depth) {
        if (++values_ > limits_.max_values) return fail("bencode: too many values");
        if (pos_ >= in_.size()) return fail(k_truncated);
        const char c = in_[pos_];
        if (c == 'i') return integer();
        if (is_digit(c)) return string();
        if (c == 'l' || c == 'd') {
            if (depth >= limits_.max_depth) return fail("bencode: nested too deeply");
            return c == 'l' ? list(depth + 1) : dict(depth + 1);
        }
        return fail("bencode: unexpected byte");
    }

    std::size_t position() const noexcept { return pos_; }

private:
    // Digits of an integer or a length: no leading zeros ("0" itself is fine), at least one digit.
    Result<std::uint64_t> digits(std::uint64_t max) {
        const std::size_t start = pos_;
        std::uint64_t v = 0;
        while (pos_ < in_.size() && is_digit(in_[pos_])) {
            const auto d = static_cast<std::uint64_t>(in_[pos_] - '0');
            if (v > (max - d) / 10) return fail("bencode: number out of range");
            v = v * 10 + d;
            ++pos_;
        }
        if (pos_ == start) return pos_ >= in_.size() ? fail(k_truncated) : fail("bencode: expected digits");
        if (in_[start] == '0' && pos_ - start > 1) return fail("bencode: leading zero");
        return v;
    }

    Result<Value> integer() {
        ++pos_;  // 'i'
        bool negative = false;
        if (pos_ < in_.size() && in_[pos_] == '-') {
            negative = true;
            ++pos_;
        }
        // |INT64_MIN| is one more than INT64_MAX.
        const std::uint64_t max =
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1U : 0U);
        auto magnitude = digits(max);
        if (!magnitude) return Error{magnitude.error()};
        if (negative && *magnitude == 0) return fail("bencode: negative zero");
        if (pos_ >= in_.size()) return fail(k_truncated);
        if (in_[pos_] != 'e') return fail("bencode: integer not closed");
        ++pos_;
        std::int64_t v = 0;
        if (negative) {
            // Two's complement: -(m) computed without overflowing for m == 2^63.
            v = static_cast<std::int64_t>(~*magnitude + 1U);
        } else {
            v = static_cast<std::int64_t>(*magnitude);
        }
        return Value::make_integer(v);
    }

    Result<Value> string() {
        // A length beyond the input limit can never be satisfied; one beyond the bytes at hand may be, by
        // more input (truncated, not invalid: stream framers rely on the difference).
        auto length = digits(limits_.max_input);
        if (!length) return Error{length.error()};
        if (pos_ >= in_.size()) return fail(k_truncated);
        if (in_[pos_] != ':') return fail("bencode: string length not followed by ':'");
        ++pos_;
        if (*length > in_.size() - pos_) return fail(k_truncated);
        Value v = Value::make_string(in_.substr(pos_, static_cast<std::size_t>(*length)));
        pos_ += static_cast<std::size_t>(*length);
        return v;
    }

    Result<Value> list(std::size_t depth) {
        ++pos_;  // 'l'
        Value v = Value::make_list();
        while (true) {
            if (pos_ >= in_.size()) return fail(k_truncated);
            if (in_[pos_] == 'e') {
                ++pos_;
                return v;
            }
            auto item = value(depth);
            if (!item) return Error{item.error()};
            v.list.push_back(std::move(*item));
        }
    }

    Result<Value> dict(std::size_t depth) {
        ++pos_;  // 'd'
        Value v = Value::make_dict();
        while (true) {
            if (pos_ >= in_.size()) return fail(k_truncated);
            if (in_[pos_] == 'e') {
                ++pos_;
                return v;
            }
            if (!is_digit(in_[pos_])) return fail("bencode: dictionary key is not a string");
            if (++values_ > limits_.max_values) return fail("bencode: too many values");
            auto key = string();
            if (!key) return Error{key.error()};
            auto item = value(depth);
            if (!item) return Error{item.error()};
            v.dict.push_back(DictEntry{std::move(key->string), std::move(*item)});
        }
    }

    std::string_view in_;
    const Limits& limits_;
    std::size_t pos_ = 0;
    std::size_t values_ = 0;
};

}  // namespace

Result<Decoded> parse(std::string_view input, const Limits& limits) {
    if (input.size() > limits.max_input) return fail("bencode: input too large");
    Parser parser(input, limits);
    auto value = parser.value(0);
    if (!value) return Error{value.error()};
    return Decoded{std::move(*value), parser.position()};
}

void encode(const Value& value, std::string& out) {
    switch (value.kind) {
        case Value::Kind::integer:
            out += 'i';
            out += std::to_string(value.integer);
            out += 'e';
            return;
        case Value::Kind::string:
            out += std::to_string(value.string.size());
            out += ':';
            out += value.string;
            return;
        case Value::Kind::list:
            out += 'l';
            for (const auto& item : value.list)
                encode(item, out);
            out += 'e';
            return;
        case Value::Kind::dict:
            out += 'd';
            for (const auto& entry : value.dict) {
                out += std::to_string(entry.key.size());
                out += ':';
                out += entry.key;
                encode(entry.value, out);
            }
            out += 'e';
            return;
    }
}

std::string encode(const Value& value) {
    std::string out;
    encode(value, out);
    return out;
}

}  // namespace sg::relay::bencode
