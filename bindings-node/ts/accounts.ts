/** Built-in accounts: registration, lookup and account changes, with the rules decided in the core. */
import * as native from '../native'
import { call, callAsync } from './errors'
import { PasswordHasher, PasswordPolicy } from './password'
import { Store } from './store'

// Re-exported as generated (bindings-node/src/accounts.rs).
export type { Account } from '../native'
import type { Account } from '../native'

/** @internal A fresh plain object from the native one. */
export function account(a: native.Account): Account {
  return {
    subject: a.subject,
    login: a.login,
    verified: a.verified,
    disabled: a.disabled,
    claims: a.claims,
    createdAt: a.createdAt,
  }
}

function orNull(a: native.Account | null | undefined): Account | null {
  return a ? account(a) : null
}

/**
 * Built-in accounts over a store (shared with the Python package: an account registered through
 * one language signs in through the other).
 *
 * - Logins are normalised (NFKC, trimmed, lower-cased) and unique: two registrations that differ
 *   by case, width or Unicode form make one account (`account_exists`), even when they race.
 * - Passwords go through the policy (`password_policy` with `reasons`) and are hashed with argon2id
 *   off the event loop.
 * - Changing an unknown subject rejects with `invalid_input`; `get` and `find` resolve null.
 * - Nothing here revokes sessions: after a password change call `Sessions.revokeAll` if other
 *   devices should be signed out.
 */
export class Accounts {
  /** @internal */
  readonly native: native.Accounts

  /**
   * Accounts in `store`, hashing new passwords with `hasher`; `policy` applies to new passwords
   * (default: the hasher's policy).
   */
  constructor(store: Store, hasher: PasswordHasher, policy?: PasswordPolicy) {
    if (!(store instanceof Store)) throw new TypeError('store must be a Store')
    if (!(hasher instanceof PasswordHasher)) throw new TypeError('hasher must be a PasswordHasher')
    if (policy !== undefined && !(policy instanceof PasswordPolicy)) throw new TypeError('policy must be a PasswordPolicy')
    this.native = call(() => new native.Accounts(store.native, hasher.native, policy?.native))
  }

  /**
   * Creates an account. With a password string: it must pass the policy (the login counts as a
   * context word) and is hashed with argon2id. With `{ passwordHash }`: a hash imported from
   * another system (argon2, bcrypt, Django or Werkzeug PBKDF2, scrypt formats; `invalid_hash`
   * otherwise), upgraded to argon2id at the first sign-in. Rejects with `account_exists` when the
   * normalised login is taken, `invalid_input` for a bad login or claims (reserved JWT names).
   */
  create(login: string, password: string | { passwordHash: string }, claims?: Record<string, unknown>): Promise<Account> {
    if (typeof password === 'string') {
      return callAsync(() => this.native.create(login, password, claims)).then(account)
    }
    if (password !== null && typeof password === 'object' && typeof (password as { passwordHash?: unknown }).passwordHash === 'string') {
      const hash = password.passwordHash
      return callAsync(() => this.native.createWithHash(login, hash, claims)).then(account)
    }
    return Promise.reject(new TypeError('password must be a string or { passwordHash: string }'))
  }

  /** The account of `subject`, or null. */
  get(subject: string): Promise<Account | null> {
    return callAsync(() => this.native.get(subject)).then(orNull)
  }

  /** The account with this login (normalised first, so any spelling that normalises alike finds it), or null. */
  find(login: string): Promise<Account | null> {
    return callAsync(() => this.native.find(login)).then(orNull)
  }

  /**
   * Sets a new password: the policy applies (with the lower minimum when the account has a
   * confirmed second factor). Revokes no session by itself.
   */
  setPassword(subject: string, password: string): Promise<Account> {
    return callAsync(() => this.native.setPassword(subject, password)).then(account)
  }

  /** Marks the account verified (the first time is kept). */
  markVerified(subject: string): Promise<Account> {
    return callAsync(() => this.native.markVerified(subject)).then(account)
  }

  /** Disables the account: it can no longer sign in (its sessions are not revoked here). */
  disable(subject: string): Promise<Account> {
    return callAsync(() => this.native.disable(subject)).then(account)
  }

  /** Replaces the account's claims as a whole (at most 16 KiB of JSON; registered JWT names and `sid` are refused). */
  updateClaims(subject: string, claims: Record<string, unknown>): Promise<Account> {
    return callAsync(() => this.native.updateClaims(subject, claims)).then(account)
  }

  /**
   * Normalises a login as every layer does: NFKC, trimmed, lower-cased, NFKC again. Throws
   * `invalid_input` when the result is empty, over 320 bytes, or holds control or invisible
   * formatting characters.
   */
  static normalizeLogin(login: string): string {
    return call(() => native.Accounts.normalizeLogin(login))
  }

  /** @internal */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Accounts { backend: '${this.native.backend}' }`
  }
}
