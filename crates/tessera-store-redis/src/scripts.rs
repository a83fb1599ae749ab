//! Single-key Lua scripts: each runs atomically on the node that owns its
//! key, so they are cluster-safe.

use std::sync::LazyLock;

use redis::Script;

/// Adds a session to its user's index; the index lives as long as its
/// longest-lived session. KEYS[1] index; ARGV sid, token hash, expiry (ms).
/// Returns how many entries the index holds.
pub static INDEX_ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[3]) then
            redis.call('PEXPIREAT', KEYS[1], ARGV[3])
        end
        return redis.call('HLEN', KEYS[1])",
    )
});

/// Sets one index entry only if it still reads as expected: a
/// compare-and-set, so a revocation or a rotation never overwrites what
/// the other just wrote. KEYS[1] index; ARGV sid, the expected entry (''
/// for none), the new entry ('' removes it), optionally an expiry (ms) the
/// index must live to. Returns {1, new entry} when done, else {0, the
/// entry as it is ('' for none)}.
pub static ENTRY_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
        if cur ~= ARGV[2] then return {0, cur} end
        if ARGV[3] == '' then
            redis.call('HDEL', KEYS[1], ARGV[1])
        else
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
            if ARGV[4] and redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[4]) then
                redis.call('PEXPIREAT', KEYS[1], ARGV[4])
            end
        end
        return {1, ARGV[3]}",
    )
});

/// Removes the index entries a list found dead, each only if it still
/// reads as the list saw it (a rotation may have moved it meanwhile).
/// KEYS[1] index; ARGV pairs of sid and the entry as read.
pub static ENTRY_PRUNE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local n = 0
        for i = 1, #ARGV, 2 do
            if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
                n = n + redis.call('HDEL', KEYS[1], ARGV[i])
            end
        end
        return n",
    )
});

/// Slides a session's expiry, unless it was deleted meanwhile. A session
/// value gets its times rewritten in place (only a value of the format this
/// code writes: another version is an error, never overwritten); a hash of
/// the earlier format its fields. KEYS[1] session; ARGV last seen (s), idle
/// expiry (s), key expiry (ms), offset of the times in the value, the times
/// as stored, the format version.
pub static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local kind = redis.call('TYPE', KEYS[1]).ok
        if kind == 'string' then
            if redis.call('GETRANGE', KEYS[1], 0, 0) ~= ARGV[6] then
                return redis.error_reply('unknown session format')
            end
            redis.call('SETRANGE', KEYS[1], ARGV[4], ARGV[5])
        elseif kind == 'hash' then
            redis.call('HSET', KEYS[1], 'seen', ARGV[1], 'idle', ARGV[2])
        else
            return 0
        end
        redis.call('PEXPIREAT', KEYS[1], ARGV[3])
        return 1",
    )
});

/// Rewrites the user snapshot of one session, if it still exists: in a
/// session value, everything after its second line break; in a hash of
/// the earlier format, the fields. KEYS[1] session; ARGV email, name (''
/// for none), verified, roles, created, the snapshot line, the format
/// version (a value of another version is an error, never overwritten),
/// and optionally the snapshot line the value must still hold (else 0).
pub static SNAPSHOT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local kind = redis.call('TYPE', KEYS[1]).ok
        if kind == 'string' then
            local v = redis.call('GET', KEYS[1])
            if string.sub(v, 1, 1) ~= ARGV[7] then return redis.error_reply('unknown session format') end
            local head = string.find(v, '\n', 1, true)
            local facts = head and string.find(v, '\n', head + 1, true)
            if not facts then return redis.error_reply('malformed session value') end
            if ARGV[8] and string.sub(v, facts + 1) ~= ARGV[8] then return 0 end
            redis.call('SET', KEYS[1], string.sub(v, 1, facts) .. ARGV[6], 'KEEPTTL')
            return 1
        elseif kind == 'hash' then
            redis.call('HSET', KEYS[1], 'email', ARGV[1], 'verified', ARGV[3], 'roles', ARGV[4], 'user_created', ARGV[5])
            if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'name') else redis.call('HSET', KEYS[1], 'name', ARGV[2]) end
            return 1
        end
        return 0",
    )
});

/// One hit on a fixed-window counter. The window end is kept in the hash
/// (the caller's clock decides), the key TTL only collects garbage.
/// KEYS[1] counter; ARGV now (s), window (s). Returns {hits, window end}.
pub static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local now = tonumber(ARGV[1])
        local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
        if r <= now then
            r = now + tonumber(ARGV[2])
            redis.call('HSET', KEYS[1], 'h', 0, 'r', r)
        end
        local h = redis.call('HINCRBY', KEYS[1], 'h', 1)
        redis.call('EXPIRE', KEYS[1], r - now + 1)
        return {h, r}",
    )
});

/// Takes one hit back while the window is open. KEYS[1] counter; ARGV now (s).
pub static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
        local h = tonumber(redis.call('HGET', KEYS[1], 'h') or '0')
        if r > tonumber(ARGV[1]) and h > 0 then
            return redis.call('HINCRBY', KEYS[1], 'h', -1)
        end
        return 0",
    )
});
