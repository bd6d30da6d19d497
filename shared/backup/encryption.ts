import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  buildClient,
  CommitmentPolicy,
  KmsKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  type KeyringNode,
} from '@aws-crypto/client-node';

/**
 * Envelope encryption by the AWS Encryption SDK: every message gets its own AES-256-GCM data key (key-committing
 * suite, signed), wrapped by the keyring: a KMS key on AWS, a raw AES-256 key from a key file locally.
 */
export interface BackupKey {
  readonly keyring: KeyringNode;
  readonly description: { readonly kind: 'raw-aes' | 'kms'; readonly keyName: string };
}

const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const KEY_NAMESPACE = 'gamekeep';
const LOCAL_KEY_NAME = 'local-backup-key';

/** The local key: 32 random bytes (base64) in `keyFile`, created on first use readable by its owner only. */
export function localBackupKey(keyFile: string): BackupKey {
  if (!existsSync(keyFile)) {
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${keyFile} does not hold a 32-byte key (base64)`);
  return rawAesBackupKey(key);
}

export function rawAesBackupKey(key: Uint8Array): BackupKey {
  return {
    keyring: new RawAesKeyringNode({
      keyName: LOCAL_KEY_NAME,
      keyNamespace: KEY_NAMESPACE,
      unencryptedMasterKey: new Uint8Array(key),
      wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    }),
    description: { kind: 'raw-aes', keyName: LOCAL_KEY_NAME },
  };
}

/** On AWS: data keys from KMS (GenerateDataKey), wrapped by the backup key. */
export function kmsBackupKey(keyArn: string): BackupKey {
  return { keyring: new KmsKeyringNode({ generatorKeyId: keyArn }), description: { kind: 'kms', keyName: keyArn } };
}

export async function seal(
  key: BackupKey,
  plaintext: Uint8Array,
  context: Record<string, string>,
): Promise<Uint8Array> {
  const { result } = await encrypt(key.keyring, plaintext, { encryptionContext: context });
  return result;
}

/** Decrypts (throws on a wrong key or damaged bytes); the caller checks the encryption context it carries. */
export async function unseal(
  key: BackupKey,
  ciphertext: Uint8Array,
): Promise<{ plaintext: Uint8Array; context: Readonly<Record<string, string>> }> {
  const { plaintext, messageHeader } = await decrypt(key.keyring, ciphertext);
  return { plaintext, context: messageHeader.encryptionContext };
}
