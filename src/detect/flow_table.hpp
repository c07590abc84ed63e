#pragma once
// The detector's UDP flow table: flows in one dense vector (reused through a free list) and an
// open-addressing index of (hash high bits, slot) pairs with linear probing. A lookup touches the index
// once and the flow once; a key is compared only when 32 bits of its hash match; the expiry sweep reads the
// flows front to back. std::unordered_map spent a third of `detect`'s time walking bucket lists and
// comparing keys (perf, 2026-12-05).
//
// Value references stay valid until the next insert(). Not thread-safe (one table per detector).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sg::detect {

template <class Key, class Value>
class FlowTable {
public:
    // The flow of `key` (whose hash is `hash`), or nullptr.
    Value* find(const Key& key, std::uint64_t hash) noexcept {
        if (index_.empty()) return nullptr;
        const std::size_t mask = index_.size() - 1;
        const auto tag = static_cast<std::uint32_t>(hash >> 32);
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            const std::uint64_t e = index_[i];
            const auto slot = static_cast<std::uint32_t>(e);
            if (slot == k_empty) return nullptr;
            if (slot != k_tombstone && static_cast<std::uint32_t>(e >> 32) == tag) {
                Slot& s = slots_[slot - 1];
                if (s.key == key) return &s.value;
            }
        }
    }

    // Starts loading the index entry a lookup of `hash` reads first (a hint: the caller looks one packet
    // ahead).
    void prefetch(std::uint64_t hash) const noexcept {
        if (!index_.empty()) __builtin_prefetch(&index_[hash & (index_.size() - 1)]);
    }

    // Adds `key`, which must not be in the table, with a default Value.
    Value& insert(const Key& key, std::uint64_t hash) {
        if ((used_ + 1) * 2 > index_.size()) rehash();
        std::uint32_t slot = 0;
        if (!free_.empty()) {
            slot = free_.back();
            free_.pop_back();
        } else {
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.emplace_back();
        }
        Slot& s = slots_[slot];
        s.key = key;
        s.hash = hash;
        s.live = true;
        place(hash, slot + 1);
        ++size_;
        return s.value;
    }

    std::size_t size() const noexcept { return size_; }

    // Removes every flow for which pred(value) is true; returns how many.
    template <class Pred>
    std::size_t erase_if(Pred pred) {
        std::size_t erased = 0;
        for (std::size_t slot = 0; slot < slots_.size(); ++slot) {
            Slot& s = slots_[slot];
            if (!s.live || !pred(s.value)) continue;
            const std::size_t mask = index_.size() - 1;
            for (std::size_t i = s.hash & mask;; i = (i + 1) & mask) {
                if (static_cast<std::uint32_t>(index_[i]) == slot + 1) {
                    index_[i] = k_tombstone;
                    break;
                }
            }
            s.live = false;
            s.value = Value{};  // frees what the flow held
            free_.push_back(static_cast<std::uint32_t>(slot));
            --size_;
            ++erased;
        }
        return erased;
    }

private:
    static constexpr std::uint32_t k_empty = 0;
    static constexpr std::uint32_t k_tombstone = 0xffffffff;

    struct Slot {
        Key key{};
        Value value{};
        std::uint64_t hash = 0;
        bool live = false;
    };

    void place(std::uint64_t hash, std::uint32_t slot_plus_one) noexcept {
        const std::size_t mask = index_.size() - 1;
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            const auto slot = static_cast<std::uint32_t>(index_[i]);
            if (slot == k_empty || slot == k_tombstone) {
                if (slot == k_empty) ++used_;
                index_[i] = (hash >> 32 << 32) | slot_plus_one;
                return;
            }
        }
    }

    // Rebuilds the index without tombstones, at most a quarter full.
    void rehash() {
        std::size_t capacity = 1024;
        while (capacity < (size_ + 1) * 4)
            capacity *= 2;
        index_.assign(capacity, 0);
        used_ = 0;
        for (std::size_t slot = 0; slot < slots_.size(); ++slot)
            if (slots_[slot].live) place(slots_[slot].hash, static_cast<std::uint32_t>(slot + 1));
    }

    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_;
    std::vector<std::uint64_t> index_;  // high 32 bits: the hash's; low 32: slot + 1 (0 empty, ~0 tombstone)
    std::size_t size_ = 0;
    std::size_t used_ = 0;  // index entries not empty (live and tombstones)
};

}  // namespace sg::detect
