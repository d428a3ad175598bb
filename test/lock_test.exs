defmodule CorralTest.LockTest do
  # Section "Locks" of corral.h, with both ways its one-word locks wait: on
  # a futex (Linux) and on the condition variables shared by all locks
  # (macOS and the BSDs), which CORRAL_PORTABLE_LOCKS selects here so that
  # they run, not only compile; and built as erl_nif locks (vm_locks: true,
  # CORRAL_VM_LOCKS), which must behave the same, be named, and be given
  # back with the memory that held them.
  # Normal schedulers, dirty schedulers and pool threads contend for the same
  # locks; a read-modify-write with a gap inside shows any lost exclusion.
  use ExUnit.Case, async: false

  @tmp Path.expand("../_build/test/corral_tmp", __DIR__)

  @source """
  #include <corral.h>
  #include <string.h>

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

  /* A cell whose destructor blocks (so it runs on Corral's pool, from a
   * copy) and takes the cell's lock there. */
  typedef struct {
      corral_mutex mx;
      int64_t n;
  } SlowCell;

  static void slow_cell_destroy(SlowCell *x)
  {
      corral_mutex_lock(&x->mx);
      x->n = -1;
      corral_mutex_unlock(&x->mx);
  }

  CORRAL_RESOURCE(SlowCell, slow_cell_destroy);
  CORRAL_RESOURCE_BLOCKING_DESTRUCTOR(SlowCell);

  CORRAL_NIF(slow_cells)
  {
      int64_t n = corral_arg_i64(c, 0);
      for (int64_t i = 0; i < n; i++) {
          SlowCell *x = corral_resource_new(c, SlowCell, 0);
          corral_lock(c, &x->mx);
      }
      return corral_make_ok(c);
  }

  CORRAL_NIF(lock_word_size) { return corral_make_i64(c, (int64_t)sizeof(corral_mutex) + (int64_t)sizeof(corral_rwlock)); }

  CORRAL_NIF(vm_lock_count) { return corral_make_i64(c, (int64_t)corral_vm_lock_count()); }

  /* The names of a new cell's locks, which this function takes first. */
  CORRAL_NIF(lock_names)
  {
      Cell *x = corral_arg_resource(c, 0, Cell);
      corral_lock(c, &x->mx); /* mutex site */
      corral_read_lock(c, &x->rw); /* rwlock site */
  #ifdef CORRAL_VM_LOCKS
      return enif_make_tuple2(c->env, corral_make_string(c, enif_mutex_name(x->mx.vm)),
                              corral_make_string(c, enif_rwlock_name(x->rw.vm)));
  #else
      return corral_make_atom(c, "one_word");
  #endif
  }

  /* Memory of the caller's own: a lock taken, then forgotten before the
   * memory is freed; and one whose memory is used again without that. */
  CORRAL_NIF(own_memory)
  {
      corral_mutex *m = enif_alloc(sizeof *m);
      corral_rwlock *l = enif_alloc(sizeof *l);
      if (!m || !l) corral_raise_oom(c, sizeof *m);
      memset(m, 0, sizeof *m);
      memset(l, 0, sizeof *l);
      corral_mutex_lock(m);
      corral_mutex_unlock(m);
      corral_rwlock_write(l);
      corral_rwlock_write_unlock(l);
      int64_t held = (int64_t)corral_vm_lock_count();
      corral_mutex_forget(m);
      corral_rwlock_forget(l);
      /* A forgotten lock is a free lock again. */
      corral_mutex_lock(m);
      corral_mutex_unlock(m);
      corral_mutex_forget(m);
      enif_free(m);
      enif_free(l);
      int64_t forgotten = (int64_t)corral_vm_lock_count();

      /* Memory with a lock word that was taken, zeroed as freed memory
       * handed out again is: the lock made there again replaces the old. */
      corral_mutex *reused = enif_alloc(sizeof *reused);
      if (!reused) corral_raise_oom(c, sizeof *reused);
      memset(reused, 0, sizeof *reused);
      corral_mutex_lock(reused);
      corral_mutex_unlock(reused);
      int64_t once = (int64_t)corral_vm_lock_count();
      memset(reused, 0, sizeof *reused);
      corral_mutex_lock(reused);
      corral_mutex_unlock(reused);
      int64_t again = (int64_t)corral_vm_lock_count();
      corral_mutex_forget(reused);
      enif_free(reused);
      return enif_make_tuple4(c->env, corral_make_i64(c, held), corral_make_i64(c, forgotten),
                              corral_make_i64(c, once), corral_make_i64(c, again));
  }

  CORRAL_MODULE(MODULE_NAME,
                CORRAL_FN("slow_cells", slow_cells, 1),
                CORRAL_FN("lock_word_size", lock_word_size, 0),
                CORRAL_FN("vm_lock_count", vm_lock_count, 0),
                CORRAL_FN("lock_names", lock_names, 1),
                CORRAL_FN("own_memory", own_memory, 0),
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

  defp build(kind, flags, opts \\ []) do
    module = Module.concat(CorralTest.Locks, kind)
    dir = Path.join(@tmp, "locks_#{kind}")
    File.mkdir_p!(dir)

    File.write!(
      Path.join(dir, "locks.c"),
      String.replace(@source, "MODULE_NAME", inspect(module))
    )

    lib = "tmp_locks_#{kind}"

    unless Code.ensure_loaded?(module) do
      Code.compile_string("""
      defmodule #{inspect(module)} do
        use Corral, otp_app: :corral, lib: #{inspect(lib)}, path: #{inspect(dir)}, cflags: #{inspect(["-Werror" | flags])}#{Enum.map_join(opts, fn {k, v} -> ", #{k}: #{inspect(v)}" end)}
      end
      """)
    end

    module
  end

  for {kind, flags, opts} <- [
        {Futex, [], []},
        {SharedWait, ["-DCORRAL_PORTABLE_LOCKS"], []},
        {VmLocks, [], [vm_locks: true]}
      ] do
    describe "#{inspect(kind)} locks" do
      setup do
        {:ok, n: build(unquote(kind), unquote(flags), unquote(opts))}
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
          assert_raise RuntimeError, ~r/raised with both locks held/, fn ->
            n.raise_holding(cell)
          end
        end

        # Would hang if either lock had been left held.
        assert n.add_write(cell, 10) == :ok
        assert n.add_mutex(cell, 10) == :ok
        assert n.totals(cell) == {10, 10, 10, 10}
      end
    end
  end

  describe "one-word locks (release builds)" do
    test "are one word each and hold no erl_nif lock" do
      n = build(Futex, [])
      assert n.lock_word_size() == 8
      cell = n.cell_new()
      assert n.lock_names(cell) == :one_word
      assert n.own_memory() == {0, 0, 0, 0}
      assert n.slow_cells(10) == :ok
      assert n.vm_lock_count() == 0
    end
  end

  describe "VM locks (vm_locks: true)" do
    setup do
      {:ok, n: build(VmLocks, [], vm_locks: true)}
    end

    test "are erl_nif locks named after the module and the place that first took them", %{n: n} do
      assert n.lock_word_size() == 2 * 8
      lines = String.split(@source, "\n")
      line = fn mark -> Enum.find_index(lines, &String.contains?(&1, mark)) + 1 end

      assert n.lock_names(n.cell_new()) ==
               {"Elixir.CorralTest.Locks.VmLocks[mutex locks.c:#{line.("/* mutex site */")}]",
                "Elixir.CorralTest.Locks.VmLocks[rwlock locks.c:#{line.("/* rwlock site */")}]"}
    end

    test "an object's locks go with its memory, also when its destructor runs later from a copy",
         %{n: n} do
      before = n.vm_lock_count()

      Task.async(fn ->
        cells = for _ <- 1..50, do: n.cell_new()
        for cell <- cells, do: :ok = n.add_mutex(cell, 1) && n.add_write(cell, 1)
        assert n.vm_lock_count() == before + 100
      end)
      |> Task.await(60_000)

      # Blocking destructors: run on the pool from copies that take the locks.
      assert n.slow_cells(30) == :ok
      :erlang.garbage_collect()
      assert CorralTest.Case.eventually(fn -> n.vm_lock_count() == before end, 3000)
    end

    test "locks in memory of one's own: forgotten, or made again at the same address", %{n: n} do
      before = n.vm_lock_count()
      # Two taken; none after forgetting; one, still one after its word was
      # zeroed and it was taken again.
      assert n.own_memory() == {before + 2, before, before + 1, before + 1}
      assert n.vm_lock_count() == before
    end
  end

  test "debug builds use VM locks" do
    n = build(DebugMode, [], mode: :debug)
    assert n.lock_word_size() == 2 * 8

    assert {"Elixir.CorralTest.Locks.DebugMode[mutex locks.c:" <> _, _} =
             n.lock_names(n.cell_new())

    assert n.add_mutex(n.cell_new(), 10) == :ok
  end

  test "vm_locks must be true or false" do
    assert_raise ArgumentError, "use Corral: :vm_locks must be true or false, got: :yes", fn ->
      build(BadOption, [], vm_locks: :yes)
    end
  end
end
