/*
 * NAME
 *	limit_redis - the rate-limit store in Redis, for a fleet
 * SUMMARY
 *	Counts and overrides in Redis; every reserve and refund one
 *	EVALSHA of a Lua script that does ratelimit.c's algorithm
 *	atomically, so filters sharing a Redis never pass a cap together.
 * DESCRIPTION
 *	See limit_store.h for keys and behaviour. The Lua below is
 *	ratelimit.c step for step (bucket width, span, seeding, free
 *	times, thresholds, block, count_refused, shadow), over a state
 *	only these scripts read and write: a MessagePack array (cmsgpack)
 *	LAST, BLOCKED, then per series WHAT, WINDOW, HEAD and an array of
 *	the non-zero buckets as AGE, COUNT pairs (131 bytes under
 *	1000/day 100/hour msg:200/day after a message every 500 seconds
 *	for 7 hours); in the scripts each series is an array of 61
 *	counts. tests/integration/test_limit_redis.py replays the same
 *	commands against both stores and compares every decision.
 *	Connections: a pool of opts->pool hiredis contexts, each used by
 *	one thread at a time; a thread takes a free one (connected ones
 *	first) or waits for one. A context that fails (I/O error, timeout,
 *	protocol error) is dropped, and no new connection is tried until
 *	retry_ms later: meanwhile calls return LIMIT_UNREACHABLE at once
 *	instead of each waiting for a timeout. On connect the scripts are
 *	loaded (SCRIPT LOAD) and the policy's classes written (SET
 *	PREFIX class:NAME); after limit_store_set_policy each connection
 *	writes them again before its next command.
 *	Redis errors LOADING, BUSY, MASTERDOWN, READONLY, TRYAGAIN,
 *	CLUSTERDOWN and NOREPLICAS count as unreachable (temporary); other
 *	error replies are errors.
 * THREADS
 *	Thread-safe. One mutex guards the pool, the retry time and the
 *	cached default class; it is never held across a round trip. The
 *	store's policy lock (limit_store_impl.h) is taken inside it only
 *	to read the policy generation (order: pool mutex, then policy).
 * OWNERSHIP
 *	The store owns its contexts, scripts and strings.
 * ERRORS
 *	"redis ADDRESS: why" for unreachable and error replies alike.
 */
#include <sys/time.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "policy/limit_store.h"
#include "policy/limit_store_impl.h"
#include "policy/ratelimit.h"

#define LIMIT_REDIS_PORT 6379	     /* default port */
#define LIMIT_REDIS_PREFIX_MAX 200   /* bytes of a key prefix */
#define LIMIT_REDIS_SCAN 1000	     /* keys a SCAN step and TOP call */
#define LIMIT_REDIS_IMPORT_BATCH 500 /* fields an HSET in an import */
#define LIMIT_REDIS_IMPORT_MS 60000  /* command timeout of an import */
#define LIMIT_REDIS_RESERVE_ARGS 13  /* EVALSHA sha 2 keys 10 args */
#define LIMIT_REDIS_DECISION 21	     /* elements of a RESERVE reply */

enum limit_redis_script {
	LIMIT_REDIS_RESERVE = 0, /* check and charge */
	LIMIT_REDIS_REFUND,	 /* give back */
	LIMIT_REDIS_GET,	 /* override, class, counts */
	LIMIT_REDIS_TOP,	 /* top N metric of a batch of keys */
	LIMIT_REDIS_NSCRIPTS	 /* number of scripts */
};

struct limit_redis_conn {
	redisContext *ctx;		    /* NULL: not connected */
	char sha[LIMIT_REDIS_NSCRIPTS][41]; /* SCRIPT LOAD answers */
	unsigned long generation;	    /* policy published */
	bool busy;			    /* taken by a thread */
};

struct limit_redis {
	struct limit_store base;	   /* first: the generic store */
	pthread_mutex_t lock;		   /* guards what follows but the
					    options */
	pthread_cond_t cond;		   /* a connection was given back */
	struct limit_redis_conn *conns;	   /* the pool */
	size_t nconns;			   /* its size */
	struct timespec retry_at;	   /* no connect before (monotonic) */
	char last_error[160];		   /* why the last connect failed */
	unsigned long def_generation;	   /* of the cached default class */
	char def_name[RATELIMIT_NAME_MAX]; /* default class name */
	char def_spec[RATELIMIT_SPEC_MAX + 1]; /* and its caps text */
	char *address;			       /* as given, for errors */
	char *host;			       /* TCP host, or NULL */
	int port;			       /* TCP port */
	char *path;			       /* unix socket, or NULL */
	char *prefix;			       /* key prefix */
	char *ovkey;			       /* PREFIX "ov" */
	char *cprefix;			       /* PREFIX "class:" */
	char *pattern;			       /* SCAN MATCH of state keys */
	unsigned connect_ms;		       /* connect timeout */
	unsigned command_ms;		       /* command timeout */
	unsigned ttl;			       /* seconds past idle */
	unsigned retry_ms;		       /* reconnect pause */
	char *scripts[LIMIT_REDIS_NSCRIPTS];   /* library + body */
};

/* Lua shared by the scripts: ratelimit.c's algorithm, step for step */
static const char limit_redis_lib[] =
    "local NB = 60\n"
    "local floor = math.floor\n"
    "local function width(w) return floor((w + NB - 1) / NB) end\n"
    "local function span(w)\n"
    "  local b = width(w)\n"
    "  return floor((w + b - 1) / b)\n"
    "end\n"
    "local function dur(t)\n"
    "  if t == 'day' then return 86400 end\n"
    "  if t == 'hour' then return 3600 end\n"
    "  if t == 'minute' then return 60 end\n"
    "  local n, u = string.match(t, '^(%d+)([smhd]?)$')\n"
    "  if not n then return nil end\n"
    "  local m = {s = 1, m = 60, h = 3600, d = 86400}\n"
    "  if u == '' then return tonumber(n) end\n"
    "  return tonumber(n) * m[u]\n"
    "end\n"
    "local function parse_class(spec)\n"
    "  local c = {caps = {}, pm = 0, ps = 0, block = 0, cr = false,\n"
    "    reject = false, shadow = false}\n"
    "  for item in string.gmatch(spec, '%S+') do\n"
    "    local k, v = string.match(item, '^([%a_]+)=(.+)$')\n"
    "    if k then\n"
    "      if k == 'per_message' then c.pm = tonumber(v)\n"
    "      elseif k == 'per_session' then c.ps = tonumber(v)\n"
    "      elseif k == 'block' then c.block = dur(v)\n"
    "      elseif k == 'count_refused' then c.cr = (v == 'yes')\n"
    "      elseif k == 'action' then c.reject = (v == 'reject')\n"
    "      elseif k == 'shadow' then c.shadow = (v == 'yes')\n"
    "      else return nil end\n"
    "      if not c.pm or not c.ps or not c.block then return nil end\n"
    "    elseif item ~= 'none' then\n"
    "      local what = 0\n"
    "      if string.sub(item, 1, 4) == 'msg:' then\n"
    "        what = 1\n"
    "        item = string.sub(item, 5)\n"
    "      end\n"
    "      local mx, w = string.match(item, '^(%d+)/(%w+)$')\n"
    "      if not mx then return nil end\n"
    "      local win = dur(w)\n"
    "      if not win or win < 1 then return nil end\n"
    "      c.caps[#c.caps + 1] = {what = what, window = win,\n"
    "        max = tonumber(mx)}\n"
    "    end\n"
    "  end\n"
    "  return c\n"
    "end\n"
    "-- A count array: 61 slots, RATELIMIT_SLOTS; a literal allocates once.\n"
    "local function zeros() return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,\n"
    "  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,\n"
    "  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,\n"
    "  0, 0} end\n"
    "local function series(what, window, head, count)\n"
    "  return {what = what, window = window, head = head, b = width(window),\n"
    "    k = span(window), count = count or zeros()}\n"
    "end\n"
    "local function decode(str)\n"
    "  local st = {last = 0, blocked = 0, series = {}}\n"
    "  if not str then return st end\n"
    "  local ok, t = pcall(cmsgpack.unpack, str)\n"
    "  if not ok or type(t) ~= 'table' or type(t[1]) ~= 'number' or\n"
    "      type(t[2]) ~= 'number' then\n"
    "    return nil\n"
    "  end\n"
    "  st.last, st.blocked = t[1], t[2]\n"
    "  local i = 3\n"
    "  while t[i] ~= nil do\n"
    "    local w, c = t[i + 1], t[i + 3]\n"
    "    if type(t[i]) ~= 'number' or type(w) ~= 'number' or w < 1 or\n"
    "        type(t[i + 2]) ~= 'number' or type(c) ~= 'table' then\n"
    "      return nil\n"
    "    end\n"
    "    local s = series(t[i], w, t[i + 2])\n"
    "    local count, k = s.count, s.k\n"
    "    for j = 1, #c - 1, 2 do\n"
    "      local a = c[j]\n"
    "      if a <= k then count[a + 1] = c[j + 1] end\n"
    "    end\n"
    "    st.series[#st.series + 1] = s\n"
    "    i = i + 4\n"
    "  end\n"
    "  return st\n"
    "end\n"
    "local function encode(st)\n"
    "  local t = {st.last, st.blocked}\n"
    "  for _, s in ipairs(st.series) do\n"
    "    local c, n, count = {}, 0, s.count\n"
    "    for i = 1, s.k + 1 do\n"
    "      local v = count[i]\n"
    "      if v > 0 then\n"
    "        c[n + 1], c[n + 2] = i - 1, v\n"
    "        n = n + 2\n"
    "      end\n"
    "    end\n"
    "    local m = #t\n"
    "    t[m + 1], t[m + 2], t[m + 3], t[m + 4] = s.what, s.window, s.head, c\n"
    "  end\n"
    "  return cmsgpack.pack(t)\n"
    "end\n"
    "local function used_at(s, t)\n"
    "  local last = s.head - (floor(t / s.b) - s.k)\n"
    "  if last > s.k then last = s.k end\n"
    "  local sum = 0\n"
    "  for i = 1, last + 1 do sum = sum + s.count[i] end\n"
    "  return sum\n"
    "end\n"
    "local function advance(s, t)\n"
    "  local cur = floor(t / s.b)\n"
    "  if cur <= s.head then return end\n"
    "  local d, c = cur - s.head, s.count\n"
    "  if d > s.k then\n"
    "    for i = 1, s.k + 1 do c[i] = 0 end\n"
    "  else\n"
    "    for i = s.k + 1, d + 1, -1 do c[i] = c[i - d] end\n"
    "    for i = 1, d do c[i] = 0 end\n"
    "  end\n"
    "  s.head = cur\n"
    "end\n"
    "local function bucket_free(s, i)\n"
    "  return (s.head - i + s.k + 1) * s.b\n"
    "end\n"
    "local function free_time(s, max, n)\n"
    "  if n > max then return 0 end\n"
    "  local need = used_at(s, s.head * s.b) + n - max\n"
    "  local freed = 0\n"
    "  for i = s.k, 0, -1 do\n"
    "    freed = freed + s.count[i + 1]\n"
    "    if freed >= need then return bucket_free(s, i) end\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "local function next_free(s)\n"
    "  for i = s.k, 0, -1 do\n"
    "    if s.count[i + 1] > 0 then return bucket_free(s, i) end\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "local function all_free(s)\n"
    "  for i = 0, s.k do\n"
    "    if s.count[i + 1] > 0 then return bucket_free(s, i) end\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "local function seed(s, old, eff)\n"
    "  local src = nil\n"
    "  for _, o in ipairs(old) do\n"
    "    if o.what == s.what and (src == nil or o.window > src.window) then\n"
    "      src = o\n"
    "    end\n"
    "  end\n"
    "  if not src then return end\n"
    "  local sum = 0\n"
    "  for i = 0, src.k do\n"
    "    if (src.head - i + 1) * src.b - 1 < eff - s.window + 1 then\n"
    "      break\n"
    "    end\n"
    "    sum = sum + src.count[i + 1]\n"
    "  end\n"
    "  s.count[1] = sum\n"
    "end\n"
    "local function sync(st, cls, eff)\n"
    "  local old = st.series\n"
    "  for _, o in ipairs(old) do advance(o, eff) end\n"
    "  local new = {}\n"
    "  for i, c in ipairs(cls.caps) do\n"
    "    local found = nil\n"
    "    for _, o in ipairs(old) do\n"
    "      if o.what == c.what and o.window == c.window then\n"
    "        found = o\n"
    "        break\n"
    "      end\n"
    "    end\n"
    "    if not found then\n"
    "      found = series(c.what, c.window, floor(eff / width(c.window)))\n"
    "      seed(found, old, eff)\n"
    "    end\n"
    "    new[i] = found\n"
    "  end\n"
    "  st.series = new\n"
    "end\n"
    "local function idle(st, eff)\n"
    "  if st.blocked > eff then return false end\n"
    "  for _, s in ipairs(st.series) do\n"
    "    if used_at(s, eff) > 0 then return false end\n"
    "  end\n"
    "  return true\n"
    "end\n"
    "local function idle_at(st)\n"
    "  local at = st.last\n"
    "  if st.blocked > at then at = st.blocked end\n"
    "  for _, s in ipairs(st.series) do\n"
    "    local t = all_free(s)\n"
    "    if t > at then at = t end\n"
    "  end\n"
    "  return at\n"
    "end\n"
    "local function effective(ovkey, account, defname, defspec, cprefix)\n"
    "  local ov = redis.call('HGET', ovkey, account)\n"
    "  if ov then\n"
    "    if string.find(ov, '[/=]') or string.lower(ov) == 'none' then\n"
    "      return 'explicit', ov, ov\n"
    "    end\n"
    "    local spec = redis.call('GET', cprefix .. ov)\n"
    "    if spec then return ov, spec, ov end\n"
    "    return defname, defspec, ov\n"
    "  end\n"
    "  return defname, defspec, ''\n"
    "end\n"
    "local function save(key, st, eff, ttl)\n"
    "  if idle(st, eff) then\n"
    "    redis.call('DEL', key)\n"
    "  else\n"
    "    redis.call('SET', key, encode(st), 'EX',\n"
    "      math.max(1, idle_at(st) - eff + ttl))\n"
    "  end\n"
    "end\n"
    "local function bad(what)\n"
    "  return redis.error_reply('ERR sakimori: ' .. what)\n"
    "end\n";

/* RESERVE - KEYS state, overrides; ARGV account, now, rcpts, msgs,
 * msg_rcpts, session_rcpts, default name, default caps, class key prefix,
 * ttl */
static const char limit_redis_reserve_lua[] =
    "local key, ovkey = KEYS[1], KEYS[2]\n"
    "local now, rc = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local mc, mr = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local sr, ttl = tonumber(ARGV[6]), tonumber(ARGV[10])\n"
    "local name, spec = effective(ovkey, ARGV[1], ARGV[7], ARGV[8], ARGV[9])\n"
    "local cls = parse_class(spec)\n"
    "if not cls then return bad('bad caps text of class ' .. name) end\n"
    "local d = {allowed = 0, refused = 0, cause = 0, cw = 0, cwin = 0,\n"
    "  cmax = 0, used = 0, limit = 0, resume = 0, blocked = 0, started = 0,\n"
    "  thr = 0, tw = 0, twin = 0, tmax = 0}\n"
    "local function out(at, r, m)\n"
    "  local sh = 0\n"
    "  if d.allowed == 1 then sh = d.refused end\n"
    "  local act = 0\n"
    "  if cls.reject then act = 1 end\n"
    "  return {d.allowed, d.refused, sh, d.cause, d.cw, d.cwin, d.cmax,\n"
    "    d.used, d.limit, d.resume, d.blocked, d.started, d.thr, d.tw,\n"
    "    d.twin, d.tmax, act, at, r, m, name}\n"
    "end\n"
    "if rc > 0 then\n"
    "  if cls.pm > 0 and mr + rc > cls.pm then\n"
    "    d.refused, d.cause, d.used, d.limit = 1, 1, mr, cls.pm\n"
    "  elseif cls.ps > 0 and sr + rc > cls.ps then\n"
    "    d.refused, d.cause, d.used, d.limit = 1, 2, sr, cls.ps\n"
    "  end\n"
    "end\n"
    "if d.refused == 1 and not cls.shadow then return out(0, 0, 0) end\n"
    "local st = decode(redis.call('GET', key))\n"
    "if not st then return bad('bad state in ' .. key) end\n"
    "local eff = now\n"
    "if st.last > eff then eff = st.last end\n"
    "sync(st, cls, eff)\n"
    "st.last = eff\n"
    "if d.refused == 0 and eff < st.blocked then\n"
    "  d.refused, d.cause, d.resume, d.blocked = 1, 3, st.blocked, st.blocked\n"
    "end\n"
    "local function later(a, b)\n"
    "  if a == 0 or b == 0 then return 0 end\n"
    "  if a > b then return a end\n"
    "  return b\n"
    "end\n"
    "local used, wresume, hit = {}, -1, 0\n"
    "for i, c in ipairs(cls.caps) do\n"
    "  local n = rc\n"
    "  if c.what == 1 then n = mc end\n"
    "  used[i] = used_at(st.series[i], eff)\n"
    "  if n > 0 and used[i] + n > c.max then\n"
    "    local t = free_time(st.series[i], c.max, n)\n"
    "    if wresume < 0 or (wresume ~= 0 and (t == 0 or t > wresume)) then\n"
    "      wresume, hit = t, i\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if wresume >= 0 then\n"
    "  if d.refused == 0 then\n"
    "    local c = cls.caps[hit]\n"
    "    d.refused, d.cause, d.cw = 1, 4, c.what\n"
    "    d.cwin, d.cmax = c.window, c.max\n"
    "    d.used, d.resume = used[hit], wresume\n"
    "  elseif d.cause == 3 then\n"
    "    d.resume = later(d.resume, wresume)\n"
    "  end\n"
    "  if cls.block > 0 and eff >= st.blocked then\n"
    "    st.blocked = eff + cls.block\n"
    "    d.blocked, d.started = st.blocked, 1\n"
    "    if d.cause == 4 then d.resume = later(d.resume, st.blocked) end\n"
    "  end\n"
    "end\n"
    "local charge = d.refused == 0 or cls.shadow\n"
    "if not charge and cls.cr and (d.cause == 4 or d.cause == 3) then\n"
    "  charge = true\n"
    "end\n"
    "if not charge then\n"
    "  save(key, st, eff, ttl)\n"
    "  return out(0, 0, 0)\n"
    "end\n"
    "for i, c in ipairs(cls.caps) do\n"
    "  local n = rc\n"
    "  if c.what == 1 then n = mc end\n"
    "  if n > 0 then\n"
    "    local s = st.series[i]\n"
    "    s.count[1] = s.count[1] + n\n"
    "    if c.max > 0 then\n"
    "      local lvl = 0\n"
    "      if used[i] < c.max and used[i] + n >= c.max then\n"
    "        lvl = 100\n"
    "      elseif used[i] * 5 < c.max * 4 and\n"
    "          (used[i] + n) * 5 >= c.max * 4 then\n"
    "        lvl = 80\n"
    "      end\n"
    "      if lvl > d.thr then\n"
    "        d.thr, d.tw, d.twin, d.tmax = lvl, c.what, c.window, c.max\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "save(key, st, eff, ttl)\n"
    "if d.refused == 1 and not cls.shadow then\n"
    "  d.thr, d.tw, d.twin, d.tmax = 0, 0, 0, 0\n"
    "  return out(0, 0, 0)\n"
    "end\n"
    "d.allowed = 1\n"
    "return out(eff, rc, mc)\n";

/* REFUND - KEYS state; ARGV now, at, rcpts, msgs, ttl */
static const char limit_redis_refund_lua[] =
    "local key = KEYS[1]\n"
    "local now, at = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local rc, mc = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local ttl = tonumber(ARGV[5])\n"
    "local raw = redis.call('GET', key)\n"
    "if not raw then return 0 end\n"
    "local st = decode(raw)\n"
    "if not st then return bad('bad state in ' .. key) end\n"
    "local eff = now\n"
    "if st.last > eff then eff = st.last end\n"
    "for _, s in ipairs(st.series) do\n"
    "  local n = rc\n"
    "  if s.what == 1 then n = mc end\n"
    "  advance(s, eff)\n"
    "  local age = s.head - floor(at / s.b)\n"
    "  if n > 0 and age >= 0 and age <= s.k then\n"
    "    local v = s.count[age + 1]\n"
    "    if n < v then v = v - n else v = 0 end\n"
    "    s.count[age + 1] = v\n"
    "  end\n"
    "end\n"
    "st.last = eff\n"
    "save(key, st, eff, ttl)\n"
    "return 1\n";

/* GET - KEYS state, overrides; ARGV account, now, default name, default
 * caps, class key prefix */
static const char limit_redis_get_lua[] =
    "local key, ovkey = KEYS[1], KEYS[2]\n"
    "local now = tonumber(ARGV[2])\n"
    "local name, spec, ov = effective(ovkey, ARGV[1], ARGV[3], ARGV[4],\n"
    "  ARGV[5])\n"
    "local cls = parse_class(spec)\n"
    "if not cls then return bad('bad caps text of class ' .. name) end\n"
    "local st = decode(redis.call('GET', key))\n"
    "if not st then return bad('bad state in ' .. key) end\n"
    "local eff = now\n"
    "if st.last > eff then eff = st.last end\n"
    "sync(st, cls, eff)\n"
    "local blocked = 0\n"
    "if st.blocked > eff then blocked = st.blocked end\n"
    "local r = {ov, name, spec, blocked, eff, #cls.caps}\n"
    "for i = 1, #cls.caps do\n"
    "  local s = st.series[i]\n"
    "  r[#r + 1] = used_at(s, eff)\n"
    "  r[#r + 1] = next_free(s)\n"
    "  r[#r + 1] = all_free(s)\n"
    "end\n"
    "return r\n";

/* TOP - KEYS states; ARGV now */
static const char limit_redis_top_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local r = {}\n"
    "for _, key in ipairs(KEYS) do\n"
    "  local st = decode(redis.call('GET', key))\n"
    "  local used, what, win = 0, 0, 0\n"
    "  if st then\n"
    "    local eff = now\n"
    "    if st.last > eff then eff = st.last end\n"
    "    local best = nil\n"
    "    for _, s in ipairs(st.series) do\n"
    "      if best == nil or (s.what == 0 and best.what == 1) or\n"
    "          (s.what == best.what and s.window > best.window) then\n"
    "        best = s\n"
    "      end\n"
    "    end\n"
    "    if best then\n"
    "      used, what, win = used_at(best, eff), best.what, best.window\n"
    "    end\n"
    "  end\n"
    "  r[#r + 1] = used\n"
    "  r[#r + 1] = what\n"
    "  r[#r + 1] = win\n"
    "end\n"
    "return r\n";

/* limit_redis_mono - the monotonic clock */
static struct timespec
limit_redis_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

/* limit_redis_tv - milliseconds as a timeval */
static struct timeval
limit_redis_tv(unsigned ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

/* limit_redis_ms_until - milliseconds from now to t, 0 if past */
static long
limit_redis_ms_until(const struct timespec *t)
{
	struct timespec now = limit_redis_mono();
	long ms = (long)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;

	return ms > 0 ? ms : 0;
}

/* limit_redis_drop - close a failed connection, pause reconnects */
static void
limit_redis_drop(
    struct limit_redis *r, struct limit_redis_conn *c, const char *why)
{
	struct timespec t;

	if (c->ctx != NULL)
		redisFree(c->ctx);
	c->ctx = NULL;
	limit_lock(&r->lock);
	t = limit_redis_mono();
	t.tv_sec += r->retry_ms / 1000;
	t.tv_nsec += (long)(r->retry_ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	r->retry_at = t;
	snprintf(r->last_error, sizeof(r->last_error), "%s", why);
	limit_unlock(&r->lock);
}

/* limit_redis_io_error - the text of a context's error */
static const char *
limit_redis_io_error(const redisContext *ctx)
{
	if (ctx == NULL)
		return "out of memory";
	/* hiredis reports a read timeout as EAGAIN's text. */
	if (ctx->err == REDIS_ERR_IO &&
	    strcmp(ctx->errstr, strerror(EAGAIN)) == 0)
		return "timed out";
	return ctx->errstr[0] != '\0' ? ctx->errstr : "connection lost";
}

/* limit_redis_temporary - an error reply that means "not now" */
static bool
limit_redis_temporary(const char *msg)
{
	static const char *const words[] = { "LOADING", "BUSY", "MASTERDOWN",
		"READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS" };
	size_t i, n;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i]);
		if (strncmp(msg, words[i], n) == 0 &&
		    (msg[n] == ' ' || msg[n] == '\0'))
			return true;
	}
	return false;
}

/*
 * limit_redis_call - one command; 0 with *reply_r (caller frees), 1 for
 * NOSCRIPT, -1 for an error reply, LIMIT_UNREACHABLE
 */
static int
limit_redis_call(struct limit_redis *r, struct limit_redis_conn *c, int argc,
    const char **argv, const size_t *lens, redisReply **reply_r, char **error_r)
{
	redisReply *reply;
	char why[160];
	int rc;

	*reply_r = NULL;
	reply = redisCommandArgv(c->ctx, argc, argv, lens);
	if (reply == NULL) {
		snprintf(why, sizeof(why), "%s", limit_redis_io_error(c->ctx));
		limit_redis_drop(r, c, why);
		return limit_error(LIMIT_UNREACHABLE, error_r, "redis %s: %s",
		    r->address, why);
	}
	if (reply->type != REDIS_REPLY_ERROR) {
		*reply_r = reply;
		return 0;
	}
	if (strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(reply);
		return 1;
	}
	rc = limit_redis_temporary(reply->str) ? LIMIT_UNREACHABLE : -1;
	limit_error(rc, error_r, "redis %s: %.200s", r->address, reply->str);
	freeReplyObject(reply);
	return rc;
}

/* limit_redis_load - SCRIPT LOAD every script on a new connection */
static int
limit_redis_load(
    struct limit_redis *r, struct limit_redis_conn *c, char **error_r)
{
	const char *argv[3];
	size_t lens[3], i;
	redisReply *reply;
	int rc;

	for (i = 0; i < LIMIT_REDIS_NSCRIPTS; i++) {
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = r->scripts[i];
		lens[0] = 6;
		lens[1] = 4;
		lens[2] = strlen(r->scripts[i]);
		rc = limit_redis_call(r, c, 3, argv, lens, &reply, error_r);
		if (rc != 0)
			return rc == 1 ? -1 : rc;
		if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
			freeReplyObject(reply);
			return limit_error(-1, error_r,
			    "redis %s: SCRIPT LOAD: unexpected reply",
			    r->address);
		}
		memcpy(c->sha[i], reply->str, 40);
		c->sha[i][40] = '\0';
		freeReplyObject(reply);
	}
	return 0;
}

/* limit_redis_publish - SET PREFIX class:NAME for every class */
static int
limit_redis_publish(
    struct limit_redis *r, struct limit_redis_conn *c, char **error_r)
{
	char key[LIMIT_REDIS_PREFIX_MAX + 8 + RATELIMIT_NAME_MAX];
	char spec[RATELIMIT_SPEC_MAX + 1];
	struct ratelimit_policy *policy;
	unsigned long generation;
	const char *argv[3];
	size_t lens[3], i;
	redisReply *reply;
	int rc = 0;

	if ((policy = limit_store_policy_copy(&r->base, &generation)) == NULL)
		return limit_error(-1, error_r, "out of memory");
	for (i = 0; i < policy->nclasses && rc == 0; i++) {
		snprintf(
		    key, sizeof(key), "%s%s", r->cprefix, policy->cls[i].name);
		if (ratelimit_class_format(
			&policy->cls[i], spec, sizeof(spec)) < 0) {
			rc = limit_error(-1, error_r, "class %s too long",
			    policy->cls[i].name);
			break;
		}
		argv[0] = "SET";
		argv[1] = key;
		argv[2] = spec;
		lens[0] = 3;
		lens[1] = strlen(key);
		lens[2] = strlen(spec);
		rc = limit_redis_call(r, c, 3, argv, lens, &reply, error_r);
		if (rc == 1)
			rc = -1;
		if (rc == 0)
			freeReplyObject(reply);
	}
	free(policy);
	if (rc == 0)
		c->generation = generation;
	return rc;
}

/* limit_redis_connect - a new connection, scripts loaded */
static int
limit_redis_connect(
    struct limit_redis *r, struct limit_redis_conn *c, char **error_r)
{
	struct timeval ctv = limit_redis_tv(r->connect_ms);
	char why[160];
	int rc;

	if (r->path != NULL)
		c->ctx = redisConnectUnixWithTimeout(r->path, ctv);
	else
		c->ctx = redisConnectWithTimeout(r->host, r->port, ctv);
	if (c->ctx == NULL || c->ctx->err != 0) {
		snprintf(why, sizeof(why), "%s", limit_redis_io_error(c->ctx));
		limit_redis_drop(r, c, why);
		return limit_error(LIMIT_UNREACHABLE, error_r, "redis %s: %s",
		    r->address, why);
	}
	if (redisSetTimeout(c->ctx, limit_redis_tv(r->command_ms)) !=
	    REDIS_OK) {
		limit_redis_drop(r, c, "cannot set a timeout");
		return limit_error(LIMIT_UNREACHABLE, error_r,
		    "redis %s: cannot set a timeout", r->address);
	}
	c->generation = 0;
	if ((rc = limit_redis_load(r, c, error_r)) != 0) {
		if (c->ctx != NULL)
			limit_redis_drop(r, c, "cannot load scripts");
		return rc;
	}
	/* Redis answers: other connections may try at once too. */
	limit_lock(&r->lock);
	r->retry_at.tv_sec = 0;
	r->retry_at.tv_nsec = 0;
	limit_unlock(&r->lock);
	return 0;
}

/* limit_redis_release - give a connection back to the pool */
static void
limit_redis_release(struct limit_redis *r, struct limit_redis_conn *c)
{
	limit_lock(&r->lock);
	c->busy = false;
	pthread_cond_signal(&r->cond);
	limit_unlock(&r->lock);
}

/* limit_redis_acquire - a connected connection, classes published */
static int
limit_redis_acquire(
    struct limit_redis *r, struct limit_redis_conn **c_r, char **error_r)
{
	struct limit_redis_conn *c = NULL;
	unsigned long generation;
	size_t i;
	long wait;
	int rc;

	limit_lock(&r->lock);
	for (;;) {
		for (i = 0; i < r->nconns; i++) {
			if (r->conns[i].busy)
				continue;
			if (c == NULL || (c->ctx == NULL && r->conns[i].ctx))
				c = &r->conns[i];
		}
		if (c != NULL)
			break;
		limit_wait(&r->cond, &r->lock);
	}
	c->busy = true;
	if (c->ctx == NULL && (wait = limit_redis_ms_until(&r->retry_at)) > 0) {
		rc = limit_error(LIMIT_UNREACHABLE, error_r,
		    "redis %s: %s (next try in %ld ms)", r->address,
		    r->last_error, wait);
		c->busy = false;
		pthread_cond_signal(&r->cond);
		limit_unlock(&r->lock);
		return rc;
	}
	limit_unlock(&r->lock);
	if (c->ctx == NULL && (rc = limit_redis_connect(r, c, error_r)) != 0)
		goto fail;
	generation = limit_store_generation(&r->base);
	if (c->generation != generation &&
	    (rc = limit_redis_publish(r, c, error_r)) != 0)
		goto fail;
	*c_r = c;
	return 0;
fail:
	limit_redis_release(r, c);
	return rc;
}

/*
 * limit_redis_eval - EVALSHA, and EVAL if Redis lost the script;
 * argv[0], argv[1] are filled in here
 */
static int
limit_redis_eval(struct limit_redis *r, struct limit_redis_conn *c,
    enum limit_redis_script script, int argc, const char **argv, size_t *lens,
    redisReply **reply_r, char **error_r)
{
	int rc;

	argv[0] = "EVALSHA";
	lens[0] = 7;
	argv[1] = c->sha[script];
	lens[1] = 40;
	rc = limit_redis_call(r, c, argc, argv, lens, reply_r, error_r);
	if (rc != 1)
		return rc;
	/* NOSCRIPT: a restarted or flushed Redis. EVAL caches it again. */
	argv[0] = "EVAL";
	lens[0] = 4;
	argv[1] = r->scripts[script];
	lens[1] = strlen(r->scripts[script]);
	rc = limit_redis_call(r, c, argc, argv, lens, reply_r, error_r);
	if (rc == 1)
		rc = limit_error(
		    -1, error_r, "redis %s: NOSCRIPT after EVAL", r->address);
	return rc;
}

/* limit_redis_default - the default class's name and caps text */
static int
limit_redis_default(
    struct limit_redis *r, char *name, char *spec, char **error_r)
{
	struct ratelimit_policy *policy;
	unsigned long generation;
	int rc = 0;

	limit_lock(&r->lock);
	generation = limit_store_generation(&r->base);
	if (r->def_generation != generation) {
		limit_unlock(&r->lock);
		if ((policy = limit_store_policy_copy(&r->base, &generation)) ==
		    NULL)
			return limit_error(-1, error_r, "out of memory");
		limit_lock(&r->lock);
		snprintf(r->def_name, sizeof(r->def_name), "%s",
		    ratelimit_policy_default(policy)->name);
		if (ratelimit_class_format(ratelimit_policy_default(policy),
			r->def_spec, sizeof(r->def_spec)) < 0)
			rc = -1;
		else
			r->def_generation = generation;
		free(policy);
	}
	memcpy(name, r->def_name, sizeof(r->def_name));
	memcpy(spec, r->def_spec, sizeof(r->def_spec));
	limit_unlock(&r->lock);
	if (rc < 0)
		return limit_error(-1, error_r, "default class too long");
	return 0;
}

/* limit_redis_key - PREFIX "c:" ACCOUNT into buf */
static size_t
limit_redis_key(
    struct limit_redis *r, const char *account, size_t len, char *buf)
{
	size_t plen = strlen(r->prefix);

	memcpy(buf, r->prefix, plen);
	memcpy(buf + plen, "c:", 2);
	memcpy(buf + plen + 2, account, len);
	buf[plen + 2 + len] = '\0';
	return plen + 2 + len;
}

/* limit_redis_int - element i of an array reply as an integer */
static int64_t
limit_redis_int(const redisReply *reply, size_t i)
{
	const redisReply *e = reply->element[i];

	if (e->type == REDIS_REPLY_INTEGER)
		return e->integer;
	if (e->type == REDIS_REPLY_STRING)
		return strtoll(e->str, NULL, 10);
	return 0;
}

/* limit_redis_decision - a RESERVE reply into a decision and token */
static int
limit_redis_decision(const redisReply *reply, struct ratelimit_decision *d,
    struct ratelimit_token *tok)
{
	const redisReply *name;

	if (reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != LIMIT_REDIS_DECISION)
		return -1;
	name = reply->element[LIMIT_REDIS_DECISION - 1];
	if (name->type != REDIS_REPLY_STRING)
		return -1;
	d->allowed = limit_redis_int(reply, 0) != 0;
	d->refused = limit_redis_int(reply, 1) != 0;
	d->shadow = limit_redis_int(reply, 2) != 0;
	d->cause = (enum ratelimit_cause)limit_redis_int(reply, 3);
	if ((unsigned)d->cause > RATELIMIT_CAUSE_WINDOW)
		return -1;
	d->cap.what = limit_redis_int(reply, 4) == 1 ? RATELIMIT_MESSAGES
						     : RATELIMIT_RECIPIENTS;
	d->cap.window = (uint32_t)limit_redis_int(reply, 5);
	d->cap.max = (uint32_t)limit_redis_int(reply, 6);
	d->used = (uint32_t)limit_redis_int(reply, 7);
	d->limit = (uint32_t)limit_redis_int(reply, 8);
	d->resume = limit_redis_int(reply, 9);
	d->blocked_until = limit_redis_int(reply, 10);
	d->block_started = limit_redis_int(reply, 11) != 0;
	d->threshold = (int)limit_redis_int(reply, 12);
	d->threshold_cap.what = limit_redis_int(reply, 13) == 1
	    ? RATELIMIT_MESSAGES
	    : RATELIMIT_RECIPIENTS;
	d->threshold_cap.window = (uint32_t)limit_redis_int(reply, 14);
	d->threshold_cap.max = (uint32_t)limit_redis_int(reply, 15);
	d->action = limit_redis_int(reply, 16) == 1 ? RATELIMIT_REJECT
						    : RATELIMIT_TEMPFAIL;
	tok->at = limit_redis_int(reply, 17);
	tok->rcpts = (uint32_t)limit_redis_int(reply, 18);
	tok->msgs = (uint32_t)limit_redis_int(reply, 19);
	snprintf(d->class_name, sizeof(d->class_name), "%.*s", (int)name->len,
	    name->str);
	return 0;
}

/* limit_redis_reserve - one EVALSHA: check and charge */
static int
limit_redis_reserve(struct limit_store *store, const char *account, size_t len,
    const struct ratelimit_request *req, int64_t now,
    struct ratelimit_decision *d, struct ratelimit_token *tok, char **error_r)
{
	struct limit_redis *r = (struct limit_redis *)store;
	char key[LIMIT_REDIS_PREFIX_MAX + RATELIMIT_ACCOUNT_MAX + 4];
	char num[6][24], name[RATELIMIT_NAME_MAX];
	char spec[RATELIMIT_SPEC_MAX + 1];
	const char *argv[LIMIT_REDIS_RESERVE_ARGS + 2];
	size_t lens[LIMIT_REDIS_RESERVE_ARGS + 2];
	struct limit_redis_conn *c;
	redisReply *reply;
	int rc, i;

	if (now < 0 || now > RATELIMIT_TIME_MAX ||
	    req->rcpts > RATELIMIT_MAX_VALUE || req->msgs > RATELIMIT_MAX_VALUE)
		return limit_error(-1, error_r, "time or request out of range");
	if (limit_redis_default(r, name, spec, error_r) < 0)
		return -1;
	snprintf(num[0], sizeof(num[0]), "%" PRId64, now);
	snprintf(num[1], sizeof(num[1]), "%" PRIu32, req->rcpts);
	snprintf(num[2], sizeof(num[2]), "%" PRIu32, req->msgs);
	snprintf(num[3], sizeof(num[3]), "%" PRIu32, req->msg_rcpts);
	snprintf(num[4], sizeof(num[4]), "%" PRIu32, req->session_rcpts);
	snprintf(num[5], sizeof(num[5]), "%u", r->ttl);
	argv[2] = "2";
	lens[3] = limit_redis_key(r, account, len, key);
	argv[3] = key;
	argv[4] = r->ovkey;
	argv[5] = account;
	lens[5] = len;
	for (i = 0; i < 5; i++)
		argv[6 + i] = num[i];
	argv[11] = name;
	argv[12] = spec;
	argv[13] = r->cprefix;
	argv[14] = num[5];
	for (i = 2; i < LIMIT_REDIS_RESERVE_ARGS + 2; i++) {
		if (i != 3 && i != 5)
			lens[i] = strlen(argv[i]);
	}
	if ((rc = limit_redis_acquire(r, &c, error_r)) != 0)
		return rc;
	rc = limit_redis_eval(r, c, LIMIT_REDIS_RESERVE,
	    LIMIT_REDIS_RESERVE_ARGS + 2, argv, lens, &reply, error_r);
	limit_redis_release(r, c);
	if (rc != 0)
		return rc;
	rc = limit_redis_decision(reply, d, tok);
	freeReplyObject(reply);
	if (rc < 0) {
		memset(d, 0, sizeof(*d));
		memset(tok, 0, sizeof(*tok));
		return limit_error(
		    -1, error_r, "redis %s: unexpected reply", r->address);
	}
	return 0;
}

/* limit_redis_refund - one EVALSHA: give back */
static int
limit_redis_refund(struct limit_store *store, const char *account, size_t len,
    const struct ratelimit_token *tok, int64_t now, char **error_r)
{
	struct limit_redis *r = (struct limit_redis *)store;
	char key[LIMIT_REDIS_PREFIX_MAX + RATELIMIT_ACCOUNT_MAX + 4];
	char num[5][24];
	const char *argv[9];
	size_t lens[9];
	struct limit_redis_conn *c;
	redisReply *reply;
	int rc, i;

	if (now < 0 || now > RATELIMIT_TIME_MAX || tok->at < 0 ||
	    tok->at > RATELIMIT_TIME_MAX)
		return limit_error(-1, error_r, "time out of range");
	snprintf(num[0], sizeof(num[0]), "%" PRId64, now);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, tok->at);
	snprintf(num[2], sizeof(num[2]), "%" PRIu32, tok->rcpts);
	snprintf(num[3], sizeof(num[3]), "%" PRIu32, tok->msgs);
	snprintf(num[4], sizeof(num[4]), "%u", r->ttl);
	argv[2] = "1";
	lens[2] = 1;
	lens[3] = limit_redis_key(r, account, len, key);
	argv[3] = key;
	for (i = 0; i < 5; i++) {
		argv[4 + i] = num[i];
		lens[4 + i] = strlen(num[i]);
	}
	if ((rc = limit_redis_acquire(r, &c, error_r)) != 0)
		return rc;
	rc = limit_redis_eval(
	    r, c, LIMIT_REDIS_REFUND, 9, argv, lens, &reply, error_r);
	limit_redis_release(r, c);
	if (rc != 0)
		return rc;
	freeReplyObject(reply);
	return 0;
}

/* limit_redis_get_usage - a GET reply into info */
static int
limit_redis_get_usage(
    const redisReply *reply, struct limit_info *info, char *why, size_t size)
{
	char text[RATELIMIT_SPEC_MAX + 1], name[RATELIMIT_NAME_MAX];
	const redisReply *e;
	size_t n, i;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 6) {
		snprintf(why, size, "unexpected reply");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		e = reply->element[i];
		if (e->type != REDIS_REPLY_STRING ||
		    e->len > RATELIMIT_SPEC_MAX) {
			snprintf(why, size, "unexpected reply");
			return -1;
		}
	}
	e = reply->element[0];
	snprintf(text, sizeof(text), "%.*s", (int)e->len, e->str);
	if (limit_override_parse(NULL, text, &info->override, why, size) < 0)
		return -1;
	e = reply->element[1];
	snprintf(name, sizeof(name), "%.*s", (int)e->len, e->str);
	e = reply->element[2];
	snprintf(text, sizeof(text), "%.*s", (int)e->len, e->str);
	if (ratelimit_class_parse(
		strcmp(name, RATELIMIT_EXPLICIT) == 0 ? NULL : name, text,
		&info->cls, why, size) < 0)
		return -1;
	info->class_unknown = info->override.kind == LIMIT_OVERRIDE_CLASS &&
	    strcmp(name, info->override.class_name) != 0;
	n = (size_t)limit_redis_int(reply, 5);
	if (n != info->cls.ncaps || reply->elements != 6 + 3 * n) {
		snprintf(why, size, "unexpected reply");
		return -1;
	}
	info->usage.blocked_until = limit_redis_int(reply, 3);
	info->usage.now = limit_redis_int(reply, 4);
	info->usage.ncaps = n;
	for (i = 0; i < n; i++) {
		info->usage.cap[i].cap = info->cls.cap[i];
		info->usage.cap[i].used =
		    (uint32_t)limit_redis_int(reply, 6 + 3 * i);
		info->usage.cap[i].next_free =
		    limit_redis_int(reply, 7 + 3 * i);
		info->usage.cap[i].all_free = limit_redis_int(reply, 8 + 3 * i);
	}
	return 0;
}

/* limit_redis_get_on - GET on a connection already taken */
static int
limit_redis_get_on(struct limit_redis *r, struct limit_redis_conn *c,
    const char *account, size_t len, int64_t now, struct limit_info *info,
    char **error_r)
{
	char key[LIMIT_REDIS_PREFIX_MAX + RATELIMIT_ACCOUNT_MAX + 4];
	char num[24], name[RATELIMIT_NAME_MAX], why[256];
	char spec[RATELIMIT_SPEC_MAX + 1];
	const char *argv[10];
	size_t lens[10], i;
	redisReply *reply;
	int rc;

	if (limit_redis_default(r, name, spec, error_r) < 0)
		return -1;
	snprintf(num, sizeof(num), "%" PRId64, now);
	argv[2] = "2";
	lens[3] = limit_redis_key(r, account, len, key);
	argv[3] = key;
	argv[4] = r->ovkey;
	argv[5] = account;
	lens[5] = len;
	argv[6] = num;
	argv[7] = name;
	argv[8] = spec;
	argv[9] = r->cprefix;
	for (i = 2; i < 10; i++) {
		if (i != 3 && i != 5)
			lens[i] = strlen(argv[i]);
	}
	rc = limit_redis_eval(
	    r, c, LIMIT_REDIS_GET, 10, argv, lens, &reply, error_r);
	if (rc != 0)
		return rc;
	rc = limit_redis_get_usage(reply, info, why, sizeof(why));
	freeReplyObject(reply);
	if (rc < 0)
		return limit_error(
		    -1, error_r, "redis %s: %s", r->address, why);
	return 0;
}

/* limit_redis_get - override, effective class and counts */
static int
limit_redis_get(struct limit_store *store, const char *account, size_t len,
    int64_t now, struct limit_info *info, char **error_r)
{
	struct limit_redis *r = (struct limit_redis *)store;
	struct limit_redis_conn *c;
	int rc;

	if ((rc = limit_redis_acquire(r, &c, error_r)) != 0)
		return rc;
	rc = limit_redis_get_on(r, c, account, len, now, info, error_r);
	limit_redis_release(r, c);
	return rc;
}

/* limit_redis_simple - one plain command, its reply discarded */
static int
limit_redis_simple(struct limit_redis *r, int argc, const char **argv,
    const size_t *lens, char **error_r)
{
	struct limit_redis_conn *c;
	redisReply *reply;
	int rc;

	if ((rc = limit_redis_acquire(r, &c, error_r)) != 0)
		return rc;
	rc = limit_redis_call(r, c, argc, argv, lens, &reply, error_r);
	limit_redis_release(r, c);
	if (rc == 1)
		return limit_error(
		    -1, error_r, "redis %s: NOSCRIPT", r->address);
	if (rc == 0)
		freeReplyObject(reply);
	return rc;
}

/* limit_redis_set_override - HSET or HDEL the override */
static int
limit_redis_set_override(struct limit_store *store, const char *account,
    size_t len, const char *text, char **error_r)
{
	struct limit_redis *r = (struct limit_redis *)store;
	const char *argv[4];
	size_t lens[4];

	argv[0] = *text == '\0' ? "HDEL" : "HSET";
	lens[0] = 4;
	argv[1] = r->ovkey;
	lens[1] = strlen(r->ovkey);
	argv[2] = account;
	lens[2] = len;
	argv[3] = text;
	lens[3] = strlen(text);
	return limit_redis_simple(
	    r, *text == '\0' ? 3 : 4, argv, lens, error_r);
}

/* limit_redis_reset - DEL the state */
static int
limit_redis_reset(
    struct limit_store *store, const char *account, size_t len, char **error_r)
{
	struct limit_redis *r = (struct limit_redis *)store;
	char key[LIMIT_REDIS_PREFIX_MAX + RATELIMIT_ACCOUNT_MAX + 4];
	const char *argv[2];
	size_t lens[2];

	argv[0] = "DEL";
	lens[0] = 3;
	lens[1] = limit_redis_key(r, account, len, key);
	argv[1] = key;
	return limit_redis_simple(r, 2, argv, lens, error_r);
}

/* limit_redis_append - queue one command on a pipeline */
static int
limit_redis_append(struct limit_redis_conn *c, int argc, const char **argv,
    const size_t *lens, size_t *queued)
{
	if (redisAppendCommandArgv(c->ctx, argc, argv, lens) != REDIS_OK)
		return -1;
	(*queued)++;
	return 0;
}

/* limit_redis_import_queue - MULTI, the rows, EXEC on the pipeline */
static int
limit_redis_import_queue(struct limit_redis *r, struct limit_redis_conn *c,
    const struct limit_csv *csv, bool replace, size_t *queued)
{
	const char **argv;
	size_t *lens, i, n = 0, cap = 2 + 2 * LIMIT_REDIS_IMPORT_BATCH;
	bool del, run_del = false;
	int rc = -1;

	argv = calloc(cap, sizeof(*argv));
	lens = calloc(cap, sizeof(*lens));
	if (argv == NULL || lens == NULL)
		goto done;
	argv[0] = "MULTI";
	lens[0] = 5;
	if (limit_redis_append(c, 1, argv, lens, queued) < 0)
		goto done;
	argv[1] = r->ovkey;
	lens[1] = strlen(r->ovkey);
	if (replace) {
		argv[0] = "DEL";
		lens[0] = 3;
		if (limit_redis_append(c, 2, argv, lens, queued) < 0)
			goto done;
	}
	/* Sets and deletions in runs, each run one HSET or one HDEL. */
	for (i = 0; i <= csv->nrows; i++) {
		del = i < csv->nrows && *csv->rows[i].value == '\0';
		if (n > 0 &&
		    (i == csv->nrows || del != run_del ||
			n >= 2 * LIMIT_REDIS_IMPORT_BATCH)) {
			if (limit_redis_append(
				c, (int)(2 + n), argv, lens, queued) < 0)
				goto done;
			n = 0;
		}
		if (i == csv->nrows || (del && replace))
			continue;
		argv[0] = del ? "HDEL" : "HSET";
		lens[0] = 4;
		run_del = del;
		argv[2 + n] = csv->rows[i].account;
		lens[2 + n++] = csv->rows[i].account_len;
		if (!del) {
			argv[2 + n] = csv->rows[i].value;
			lens[2 + n++] = strlen(csv->rows[i].value);
		}
	}
	argv[0] = "EXEC";
	lens[0] = 4;
	if (limit_redis_append(c, 1, argv, lens, queued) < 0)
		goto done;
	rc = 0;
done:
	free(argv);
	free(lens);
	return rc;
}

/* limit_redis_import - every row in one MULTI/EXEC */
static int
limit_redis_import(struct limit_store *store, const struct limit_csv *csv,
    unsigned flags, char **error_r)
{
	struct limit_redis *r = (struct limit_redis *)store;
	struct limit_redis_conn *c;
	redisReply *reply = NULL;
	size_t queued = 0, i;
	char why[256] = "";
	int rc;

	if ((rc = limit_redis_acquire(r, &c, error_r)) != 0)
		return rc;
	redisSetTimeout(c->ctx, limit_redis_tv(LIMIT_REDIS_IMPORT_MS));
	if (limit_redis_import_queue(
		r, c, csv, (flags & LIMIT_IMPORT_REPLACE) != 0, &queued) < 0) {
		limit_redis_drop(r, c, "out of memory");
		limit_redis_release(r, c);
		return limit_error(-1, error_r, "out of memory");
	}
	for (i = 0; i < queued; i++) {
		if (redisGetReply(c->ctx, (void **)&reply) != REDIS_OK) {
			snprintf(why, sizeof(why), "%s",
			    limit_redis_io_error(c->ctx));
			limit_redis_drop(r, c, why);
			limit_redis_release(r, c);
			return limit_error(LIMIT_UNREACHABLE, error_r,
			    "redis %s: %s (import may not be applied)",
			    r->address, why);
		}
		if (reply->type == REDIS_REPLY_ERROR && why[0] == '\0')
			snprintf(why, sizeof(why), "%.200s", reply->str);
		/* The last reply, EXEC's, is the array of every result. */
		if (i + 1 == queued && reply->type != REDIS_REPLY_ARRAY &&
		    why[0] == '\0')
			snprintf(why, sizeof(why), "transaction aborted");
		freeReplyObject(reply);
	}
	redisSetTimeout(c->ctx, limit_redis_tv(r->command_ms));
	limit_redis_release(r, c);
	if (why[0] != '\0')
		return limit_error(-1, error_r,
		    "redis %s: import not applied: %s", r->address, why);
	return 0;
}

/* limit_redis_top_batch - metrics of a batch of state keys */
static int
limit_redis_top_batch(struct limit_redis *r, struct limit_redis_conn *c,
    const redisReply *keys, int64_t now, struct limit_top *top, size_t n,
    size_t *count, char **error_r)
{
	size_t nk = keys->elements, i, plen = strlen(r->prefix) + 2;
	const char **argv;
	char num[24], nkeys[24];
	redisReply *reply;
	size_t *lens;
	int rc;

	if (nk == 0)
		return 0;
	argv = calloc(nk + 4, sizeof(*argv));
	lens = calloc(nk + 4, sizeof(*lens));
	if (argv == NULL || lens == NULL) {
		free(argv);
		free(lens);
		return limit_error(-1, error_r, "out of memory");
	}
	snprintf(nkeys, sizeof(nkeys), "%zu", nk);
	snprintf(num, sizeof(num), "%" PRId64, now);
	argv[2] = nkeys;
	lens[2] = strlen(nkeys);
	for (i = 0; i < nk; i++) {
		argv[3 + i] = keys->element[i]->str;
		lens[3 + i] = keys->element[i]->len;
	}
	argv[3 + nk] = num;
	lens[3 + nk] = strlen(num);
	rc = limit_redis_eval(
	    r, c, LIMIT_REDIS_TOP, (int)(nk + 4), argv, lens, &reply, error_r);
	if (rc == 0) {
		if (reply->type != REDIS_REPLY_ARRAY ||
		    reply->elements != 3 * nk) {
			rc = limit_error(-1, error_r,
			    "redis %s: unexpected reply", r->address);
		} else {
			for (i = 0; i < nk; i++) {
				const redisReply *k = keys->element[i];
				struct ratelimit_cap cap;
				uint32_t used;

				used = (uint32_t)limit_redis_int(reply, 3 * i);
				cap.what =
				    limit_redis_int(reply, 3 * i + 1) == 1
				    ? RATELIMIT_MESSAGES
				    : RATELIMIT_RECIPIENTS;
				cap.window =
				    (uint32_t)limit_redis_int(reply, 3 * i + 2);
				cap.max = 0;
				if (used > 0 && k->len > plen)
					limit_top_add(top, n, count,
					    k->str + plen, k->len - plen, used,
					    &cap);
			}
		}
		freeReplyObject(reply);
	}
	free(argv);
	free(lens);
	return rc;
}

/* limit_redis_top - SCAN the state keys, weigh them in batches */
static int
limit_redis_top(struct limit_store *store, size_t n, int64_t now,
    struct limit_top *top, size_t *count_r, char **error_r)
{
	struct limit_redis *r = (struct limit_redis *)store;
	char cursor[32] = "0", batch[16];
	struct limit_redis_conn *c;
	struct limit_info info;
	const char *argv[6];
	size_t lens[6], count = 0, i, j;
	redisReply *reply;
	int rc;

	if ((rc = limit_redis_acquire(r, &c, error_r)) != 0)
		return rc;
	snprintf(batch, sizeof(batch), "%d", LIMIT_REDIS_SCAN);
	do {
		argv[0] = "SCAN";
		argv[1] = cursor;
		argv[2] = "MATCH";
		argv[3] = r->pattern;
		argv[4] = "COUNT";
		argv[5] = batch;
		for (i = 0; i < 6; i++)
			lens[i] = strlen(argv[i]);
		rc = limit_redis_call(r, c, 6, argv, lens, &reply, error_r);
		if (rc != 0)
			goto done;
		if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		    reply->element[0]->type != REDIS_REPLY_STRING ||
		    reply->element[0]->len >= sizeof(cursor) ||
		    reply->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(reply);
			rc = limit_error(-1, error_r,
			    "redis %s: unexpected SCAN reply", r->address);
			goto done;
		}
		memcpy(cursor, reply->element[0]->str, reply->element[0]->len);
		cursor[reply->element[0]->len] = '\0';
		rc = limit_redis_top_batch(
		    r, c, reply->element[1], now, top, n, &count, error_r);
		freeReplyObject(reply);
		if (rc != 0)
			goto done;
	} while (strcmp(cursor, "0") != 0);
	/* The caps of the winners: their effective class, one GET each. */
	for (i = 0; i < count; i++) {
		rc = limit_redis_get_on(r, c, top[i].account,
		    strlen(top[i].account), now, &info, error_r);
		if (rc != 0)
			goto done;
		for (j = 0; j < info.cls.ncaps; j++) {
			if (info.cls.cap[j].what == top[i].cap.what &&
			    info.cls.cap[j].window == top[i].cap.window)
				top[i].cap.max = info.cls.cap[j].max;
		}
	}
	limit_top_sort(top, count);
	*count_r = count;
done:
	limit_redis_release(r, c);
	return rc;
}

/* limit_redis_expire - nothing: state keys carry their TTL */
static int
limit_redis_expire(
    struct limit_store *store, int64_t now, size_t *removed, char **error_r)
{
	(void)store;
	(void)now;
	(void)error_r;
	*removed = 0;
	return 0;
}

/* limit_redis_sync - nothing: Redis persists as it is configured to */
static int
limit_redis_sync(struct limit_store *store, char **error_r)
{
	(void)store;
	(void)error_r;
	return 0;
}

/* limit_redis_close - free the pool and everything else */
static void
limit_redis_close(struct limit_store *store)
{
	struct limit_redis *r = (struct limit_redis *)store;
	size_t i;

	for (i = 0; r->conns != NULL && i < r->nconns; i++) {
		if (r->conns[i].ctx != NULL)
			redisFree(r->conns[i].ctx);
	}
	free(r->conns);
	for (i = 0; i < LIMIT_REDIS_NSCRIPTS; i++)
		free(r->scripts[i]);
	free(r->address);
	free(r->host);
	free(r->path);
	free(r->prefix);
	free(r->ovkey);
	free(r->cprefix);
	free(r->pattern);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	limit_store_base_fini(&r->base);
	free(r);
}

static const struct limit_store_ops limit_redis_ops = {
	.kind = "redis",
	.reserve = limit_redis_reserve,
	.refund = limit_redis_refund,
	.get = limit_redis_get,
	.set_override = limit_redis_set_override,
	.reset = limit_redis_reset,
	.import = limit_redis_import,
	.top = limit_redis_top,
	.expire = limit_redis_expire,
	.sync = limit_redis_sync,
	.close = limit_redis_close,
};

/* limit_redis_address - HOST:PORT, [V6]:PORT, HOST, /path, unix:/path */
static int
limit_redis_address(struct limit_redis *r, const char *addr, char **error_r)
{
	const char *colon, *host = addr;
	size_t hlen;
	long port = LIMIT_REDIS_PORT;
	char *end;

	if (strncmp(addr, "unix:", 5) == 0 || addr[0] == '/') {
		r->path = strdup(addr[0] == '/' ? addr : addr + 5);
		return r->path == NULL
		    ? limit_error(-1, error_r, "out of memory")
		    : 0;
	}
	if (addr[0] == '[') {
		if ((colon = strchr(addr, ']')) == NULL)
			return limit_error(
			    -1, error_r, "redis address %s: no ']'", addr);
		host = addr + 1;
		hlen = (size_t)(colon - host);
		colon = colon[1] == ':' ? colon + 1 : NULL;
		if (colon == NULL && host[hlen + 1] != '\0')
			return limit_error(-1, error_r,
			    "redis address %s: want [ADDRESS]:PORT", addr);
	} else {
		colon = strrchr(addr, ':');
		/* Two colons and no brackets: a bare IPv6 address. */
		if (colon != NULL && strchr(addr, ':') != colon)
			colon = NULL;
		hlen = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
	}
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || errno != 0 ||
		    port < 1 || port > 65535)
			return limit_error(
			    -1, error_r, "redis address %s: bad port", addr);
	}
	if (hlen == 0)
		return limit_error(
		    -1, error_r, "redis address %s: no host", addr);
	if ((r->host = strndup(host, hlen)) == NULL)
		return limit_error(-1, error_r, "out of memory");
	r->port = (int)port;
	return 0;
}

/* limit_redis_glob - a prefix with glob characters escaped, then "c:*" */
static char *
limit_redis_glob(const char *prefix)
{
	size_t len = strlen(prefix), i, o = 0;
	char *p = malloc(2 * len + 4);

	if (p == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (strchr("*?[]\\", prefix[i]) != NULL)
			p[o++] = '\\';
		p[o++] = prefix[i];
	}
	memcpy(p + o, "c:*", 4);
	return p;
}

/* limit_redis_concat - a + b in a new string, or NULL */
static char *
limit_redis_concat(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	char *p = malloc(alen + blen + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, a, alen);
	memcpy(p + alen, b, blen + 1);
	return p;
}

/* limit_redis_open - a Redis store; connects on first use */
int
limit_redis_open(const struct limit_redis_options *opts,
    const struct ratelimit_policy *policy, struct limit_store **store_r,
    char **error_r)
{
	static const char *const bodies[LIMIT_REDIS_NSCRIPTS] = {
		limit_redis_reserve_lua, limit_redis_refund_lua,
		limit_redis_get_lua, limit_redis_top_lua
	};
	const char *prefix;
	struct limit_redis *r;
	size_t i;

	*store_r = NULL;
	if (opts->address == NULL || *opts->address == '\0')
		return limit_error(-1, error_r, "no redis address");
	prefix = opts->prefix != NULL ? opts->prefix : LIMIT_REDIS_PREFIX;
	if (strlen(prefix) > LIMIT_REDIS_PREFIX_MAX)
		return limit_error(-1, error_r,
		    "redis key prefix longer than %d bytes",
		    LIMIT_REDIS_PREFIX_MAX);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return limit_error(-1, error_r, "out of memory");
	if (limit_store_base_init(&r->base, &limit_redis_ops, policy, error_r) <
	    0) {
		free(r);
		return -1;
	}
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		limit_store_base_fini(&r->base);
		free(r);
		return limit_error(-1, error_r, "cannot make a lock");
	}
	if (pthread_cond_init(&r->cond, NULL) != 0) {
		pthread_mutex_destroy(&r->lock);
		limit_store_base_fini(&r->base);
		free(r);
		return limit_error(-1, error_r, "cannot make a lock");
	}
	r->connect_ms =
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 500;
	r->command_ms =
	    opts->command_timeout_ms > 0 ? opts->command_timeout_ms : 500;
	r->ttl = opts->ttl > 0 ? opts->ttl : 60;
	r->retry_ms = opts->retry_ms > 0 ? opts->retry_ms : 1000;
	r->nconns = opts->pool > 0 ? opts->pool : 4;
	r->conns = calloc(r->nconns, sizeof(*r->conns));
	r->address = strdup(opts->address);
	r->prefix = strdup(prefix);
	r->ovkey = limit_redis_concat(prefix, "ov");
	r->cprefix = limit_redis_concat(prefix, "class:");
	r->pattern = limit_redis_glob(prefix);
	for (i = 0; i < LIMIT_REDIS_NSCRIPTS; i++)
		r->scripts[i] = limit_redis_concat(limit_redis_lib, bodies[i]);
	if (r->conns == NULL || r->address == NULL || r->prefix == NULL ||
	    r->ovkey == NULL || r->cprefix == NULL || r->pattern == NULL)
		goto nomem;
	for (i = 0; i < LIMIT_REDIS_NSCRIPTS; i++) {
		if (r->scripts[i] == NULL)
			goto nomem;
	}
	if (limit_redis_address(r, opts->address, error_r) < 0) {
		limit_redis_close(&r->base);
		return -1;
	}
	*store_r = &r->base;
	return 0;
nomem:
	limit_redis_close(&r->base);
	return limit_error(-1, error_r, "out of memory");
}
