package sqlstore

import (
	"context"
	"errors"

	"github.com/bizzjoiner/bcconnector/secret"
)

// ReSealAll implements store.SecretStore.ReSealAll for both stores: in one transaction it
// re-seals with kr's primary key every client secret, endpoint signing secret and the
// operator app's credential sealed with another key, then makes kr the store's keyring.
// The rows are locked for the transaction (Dialect.ForUpdate), so a concurrent
// AddSecret of another instance waits or is re-sealed too.
func (s *Store) ReSealAll(ctx context.Context, kr *secret.Keyring) (int, error) {
	if kr == nil {
		return 0, errors.New(s.drv.Name() + ": ReSealAll needs a keyring")
	}
	s.krMu.Lock()
	defer s.krMu.Unlock()
	n := 0
	err := s.drv.WithTx(ctx, func(tx Tx) error {
		for _, step := range []func(context.Context, Executor, *secret.Keyring) (int, error){
			s.resealClientSecrets, s.resealEndpointSecrets, s.resealOperatorApp,
		} {
			m, err := step(ctx, tx, kr)
			n += m
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.kr = kr
	s.log.Info("client secrets re-sealed", "count", n, "primary", kr.PrimaryID())
	return n, nil
}

// sealedRow is a sealed value and the IDs its additional data is made of.
type sealedRow struct {
	id, owner string
	sealed    []byte
}

func scanSealed(r Row) (sealedRow, error) {
	var it sealedRow
	return it, r.Scan(&it.id, &it.owner, &it.sealed)
}

// resealClientSecrets re-seals the connections' client secrets and certificate keys.
func (s *Store) resealClientSecrets(ctx context.Context, q Executor, kr *secret.Keyring) (int, error) {
	rows, err := q.Query(ctx, `SELECT id, connection_id, sealed FROM client_secrets WHERE sealed IS NOT NULL ORDER BY id`+s.drv.ForUpdate())
	if err != nil {
		return 0, s.errorf("re-seal: %w", err)
	}
	all, err := collect(rows, scanSealed)
	if err != nil {
		return 0, s.errorf("re-seal: %w", err)
	}
	n := 0
	for _, it := range all {
		resealed, ok, err := Reseal(kr, it.owner, it.id, it.sealed)
		if err != nil {
			return n, s.errorf("%w", err)
		}
		if !ok {
			continue
		}
		if _, err := q.Exec(ctx, `UPDATE client_secrets SET sealed = $1, key_id = $2 WHERE id = $3`, resealed, kr.PrimaryID(), it.id); err != nil {
			return n, s.errorf("re-seal client secret %s: %w", it.id, err)
		}
		n++
	}
	return n, nil
}

// resealEndpointSecrets re-seals the outbound endpoints' signing secrets.
func (s *Store) resealEndpointSecrets(ctx context.Context, q Executor, kr *secret.Keyring) (int, error) {
	rows, err := q.Query(ctx, `SELECT id, endpoint_id, sealed FROM outbound_secrets ORDER BY id`+s.drv.ForUpdate())
	if err != nil {
		return 0, s.errorf("re-seal endpoint secrets: %w", err)
	}
	all, err := collect(rows, scanSealed)
	if err != nil {
		return 0, s.errorf("re-seal endpoint secrets: %w", err)
	}
	n := 0
	for _, it := range all {
		resealed, ok, err := ResealAAD(kr, EndpointSecretAAD(it.owner, it.id), it.sealed)
		if err != nil {
			return n, s.errorf("re-seal signing secret %s of endpoint %s: %w", it.id, it.owner, err)
		}
		if !ok {
			continue
		}
		if _, err := q.Exec(ctx, `UPDATE outbound_secrets SET sealed = $1, key_id = $2 WHERE id = $3`, resealed, kr.PrimaryID(), it.id); err != nil {
			return n, s.errorf("re-seal signing secret %s: %w", it.id, err)
		}
		n++
	}
	return n, nil
}

// resealOperatorApp re-seals the operator app's credential; it returns 1 if it did.
func (s *Store) resealOperatorApp(ctx context.Context, q Executor, kr *secret.Keyring) (int, error) {
	var sealed []byte
	err := q.QueryRow(ctx, `SELECT sealed FROM operator_app WHERE id = 1`+s.drv.ForUpdate()).Scan(&sealed)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, s.errorf("re-seal the express app's credential: %w", err)
	}
	resealed, ok, err := ResealAAD(kr, OperatorAAD(), sealed)
	if err != nil {
		return 0, s.errorf("re-seal the express app's credential: %w", err)
	}
	if !ok {
		return 0, nil
	}
	if _, err := q.Exec(ctx, `UPDATE operator_app SET sealed = $1, key_id = $2 WHERE id = 1`, resealed, kr.PrimaryID()); err != nil {
		return 0, s.errorf("re-seal the express app's credential: %w", err)
	}
	return 1, nil
}
