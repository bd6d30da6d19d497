import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gameConfig, paymentCheck } from '../../../shared/domain/player/index.js';

/** The band is written out here in numbers, not derived from the code under test. */
describe('the payment policy', () => {
  it('credits stones-100 from 50 to 128 USD cents (half price to +30 %), and nothing outside', () => {
    expect(paymentCheck(gameConfig, { sku: 'stones-100', amount: 99, currency: 'USD' })).toEqual({
      ok: true,
      listPrice: { amount: 99, currency: 'USD' },
    });
    for (const amount of [50, 51, 99, 127, 128])
      expect(paymentCheck(gameConfig, { sku: 'stones-100', amount, currency: 'USD' }).ok, String(amount)).toBe(true);
    for (const amount of [0, 1, 49, 129, 990])
      expect(paymentCheck(gameConfig, { sku: 'stones-100', amount, currency: 'usd' }), String(amount)).toMatchObject({
        ok: false,
        code: 'PRICE_MISMATCH',
      });
  });

  it('prices each currency in its own minor units, and refuses a currency the SKU is not sold in', () => {
    expect(paymentCheck(gameConfig, { sku: 'stones-100', amount: 150, currency: 'JPY' })).toEqual({
      ok: true,
      listPrice: { amount: 150, currency: 'JPY' },
    });
    expect(paymentCheck(gameConfig, { sku: 'stones-100', amount: 89, currency: 'gbp' })).toEqual({
      ok: true,
      listPrice: { amount: 89, currency: 'GBP' },
    });
    expect(paymentCheck(gameConfig, { sku: 'stones-100', amount: 99, currency: 'CHF' })).toMatchObject({
      ok: false,
      code: 'CURRENCY_NOT_SOLD',
    });
  });

  it('applies a SKU override: stones-1200 (999 USD cents) is never credited below 700', () => {
    expect(paymentCheck(gameConfig, { sku: 'stones-1200', amount: 700, currency: 'USD' }).ok).toBe(true);
    expect(paymentCheck(gameConfig, { sku: 'stones-1200', amount: 699, currency: 'USD' })).toMatchObject({
      ok: false,
      code: 'PRICE_MISMATCH',
    });
    expect(paymentCheck(gameConfig, { sku: 'stones-1200', amount: 1298, currency: 'USD' }).ok).toBe(true);
    expect(paymentCheck(gameConfig, { sku: 'stones-1200', amount: 1299, currency: 'USD' }).ok).toBe(false);
  });

  it('refuses unknown SKUs, including inherited property names', () => {
    for (const sku of ['stones-9999', 'constructor', '__proto__', 'toString'])
      expect(paymentCheck(gameConfig, { sku, amount: 99, currency: 'USD' }), sku).toMatchObject({
        ok: false,
        code: 'UNKNOWN_SKU',
      });
  });

  it('never throws and decides every amount one way or the other', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('stones-100', 'stones-550', 'stones-1200', 'nope'),
        fc.nat(),
        fc.constantFrom('USD', 'EUR', 'JPY', 'XXX'),
        (sku, amount, currency) => {
          const check = paymentCheck(gameConfig, { sku, amount, currency });
          expect(typeof check.ok).toBe('boolean');
        },
      ),
    );
  });
});
