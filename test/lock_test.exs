defmodule CorralTest.LockTest do
  # Section "Locks" of corral.h, with both ways its one-word locks wait: on
  # a futex (Linux) and on the condition variables shared by all locks
  # (macOS and the BSDs), which CORRAL_PORTABLE_LOCKS selects here so that
  # they run, not only compile.
  # Normal schedulers, dirty schedulers and pool threads contend for the same
  # locks; a read-modify-write with a gap inside shows any lost exclusion.
  use ExUnit.Case, async: false

  @tmp Path.expand("../_build/test/corral_tmp", __DIR__)

  @source """
  #include <corral.h>

  typedef struct {
      corral_rwlock rw;
      corral_mutex mx;
      int64_t a, b;   /* under rw: always equal when rw is free */
      int64_t m1, m2; /* under mx */
  } Cell;

  CORRAL_RESOURCE(Cell, NULL);

  /* A read-modify-write slow enough for another thread to get in between. */
  static void bump(int64_t *x, int64_t *y)
  {
      int64_t v = *x;
      for (volatile int i = 0; i < 100; i++) {}
      *x = v + 1;
      *y = *y + 1;
  }

  CORRAL_NIF(cell_new) { return corral_make_resource(c, corral_resource_new(c, Cell, 0)); }

  static ERL_NIF_TERM add_write_body(corral_call *c)
  {
      Cell *x = corral_arg_resource(c, 0, Cell);
      int64_t n = corral_arg_i64(c, 1);
      for (int64_t i = 0; i < n; i++) {
          corral_defer_id held = corral_write_lock(c, &x->rw);
          bump(&x->a, &x->b);
          corral_run_now(c, held);
      }
      return corral_make_ok(c);
  }

  CORRAL_NIF(add_write) { return add_write_body(c); }

  CORRAL_NIF(add_mutex)
  {
      Cell *x = corral_arg_resource(c, 0, Cell);
      int64_t n = corral_arg_i64(c, 1);
      for (int64_t i = 0; i < n; i++) {
          corral_defer_id held = corral_lock(c, &x->mx);
          bump(&x->m1, &x->m2);
          corral_run_now(c, held);
      }
      return corral_make_ok(c);
  }

  /* The same by hand, as a resource callback or a thread of the user's would. */
  CORRAL_NIF(add_by_hand)
  {
      Cell *x = corral_arg_resource(c, 0, Cell);
      int64_t n = corral_arg_i64(c, 1);
      for (int64_t i = 0; i < n; i++) {
          corral_rwlock_write(&x->rw);
          bump(&x->a, &x->b);
          corral_rwlock_write_unlock(&x->rw);
          corral_mutex_lock(&x->mx);
          bump(&x->m1, &x->m2);
          corral_mutex_unlock(&x->mx);
      }
      return corral_make_ok(c);
  }

  /* Readers never see a half-done write; returns how many reads were torn. */
  CORRAL_NIF(check_reads)
  {
      Cell *x = corral_arg_resource(c, 0, Cell);
      int64_t n = corral_arg_i64(c, 1), torn = 0;
      for (int64_t i = 0; i < n; i++) {
          corral_defer_id held = corral_read_lock(c, &x->rw);
          int64_t a = x->a;
          for (volatile int k = 0; k < 50; k++) {}
          if (a != x->b || a != x->a) torn++;
          corral_run_now(c, held);
          corral_rwlock_read(&x->rw);
          if (x->a != x->b) torn++;
          corral_rwlock_read_unlock(&x->rw);
      }
      return corral_make_i64(c, torn);
  }

  CORRAL_THREAD_NIF(add_write_job) { return add_write_body(c); }

  /* Raises with both locks held: the call must release them. */
  CORRAL_NIF(raise_holding)
  {
      Cell *x = corral_arg_resource(c, 0, Cell);
      corral_write_lock(c, &x->rw);
      corral_lock(c, &x->mx);
      corral_raise(c, "raised with both locks held");
  }

  CORRAL_NIF(totals)
  {
      Cell *x = corral_arg_resource(c, 0, Cell);
      corral_read_lock(c, &x->rw);
      corral_lock(c, &x->mx);
      return enif_make_tuple4(c->env, corral_make_i64(c, x->a), corral_make_i64(c, x->b),
                              corral_make_i64(c, x->m1), corral_make_i64(c, x->m2));
  }

  CORRAL_MODULE(MODULE_NAME,
                CORRAL_FN("cell_new", cell_new, 0),
                CORRAL_FN("add_write", add_write, 2),
                CORRAL_FN_FLAGS("add_write_dirty", add_write, 2, CORRAL_DIRTY_CPU),
                CORRAL_FN("add_mutex", add_mutex, 2),
                CORRAL_FN_FLAGS("add_mutex_dirty", add_mutex, 2, CORRAL_DIRTY_CPU),
                CORRAL_FN_FLAGS("add_by_hand", add_by_hand, 2, CORRAL_DIRTY_CPU),
                CORRAL_FN_FLAGS("check_reads", check_reads, 2, CORRAL_DIRTY_CPU),
                CORRAL_FN_THREAD("add_write_job", add_write_job, 2),
                CORRAL_FN("raise_holding", raise_holding, 1),
                CORRAL_FN("totals", totals, 1));
  """

  defp build(kind, flags) do
    module = Module.concat(CorralTest.Locks, kind)
    dir = Path.join(@tmp, "locks_#{kind}")
    File.mkdir_p!(dir)
    File.write!(Path.join(dir, "locks.c"), String.replace(@source, "MODULE_NAME", inspect(module)))
    lib = "tmp_locks_#{kind}"

    unless Code.ensure_loaded?(module) do
      Code.compile_string("""
      defmodule #{inspect(module)} do
        use Corral, otp_app: :corral, lib: #{inspect(lib)}, path: #{inspect(dir)}, cflags: #{inspect(["-Werror" | flags])}
      end
      """)
    end

    module
  end

  for {kind, flags} <- [{Futex, []}, {SharedWait, ["-DCORRAL_PORTABLE_LOCKS"]}] do
    describe "#{inspect(kind)} locks" do
      setup do
        {:ok, n: build(unquote(kind), unquote(flags))}
      end

      test "writers on every kind of thread, and readers, never overlap", %{n: n} do
        cell = n.cell_new()
        jobs = for _ <- 1..4, do: n.add_write_job_async(cell, 5_000)

        writers =
          for k <- 1..12 do
            Task.async(fn ->
              case rem(k, 4) do
                0 -> n.add_write(cell, 3_000)
                1 -> n.add_write_dirty(cell, 3_000)
                2 -> :ok = n.add_mutex(cell, 3_000) && n.add_mutex_dirty(cell, 3_000)
                3 -> n.add_by_hand(cell, 3_000)
              end
            end)
          end

        readers = for _ <- 1..4, do: Task.async(fn -> n.check_reads(cell, 20_000) end)

        Enum.each(writers, &Task.await(&1, 120_000))
        for job <- jobs, do: assert(Corral.Job.await(n, job, 120_000) == :ok)
        assert Enum.map(readers, &Task.await(&1, 120_000)) == [0, 0, 0, 0]

        # rw: 3 add_write + 3 add_write_dirty + 3 by hand (3_000 each) + 4 jobs (5_000 each);
        # mutex: 3 x (3_000 + 3_000) + 3 by hand.
        rw = 9 * 3_000 + 4 * 5_000
        mx = 3 * 6_000 + 3 * 3_000
        assert n.totals(cell) == {rw, rw, mx, mx}
      end

      test "a raise with locks held releases them", %{n: n} do
        cell = n.cell_new()

        for _ <- 1..100 do
          assert_raise RuntimeError, ~r/raised with both locks held/, fn -> n.raise_holding(cell) end
        end

        # Would hang if either lock had been left held.
        assert n.add_write(cell, 10) == :ok
        assert n.add_mutex(cell, 10) == :ok
        assert n.totals(cell) == {10, 10, 10, 10}
      end
    end
  end
end
