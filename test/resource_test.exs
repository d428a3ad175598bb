defmodule CorralTest.ResourceTest do
  # Sections "Resources" and "Locks" of corral.h. Destructor counts are
  # global to the library, so these tests run one at a time.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  test "a new object is zeroed, typed and usable" do
    k = N.counter_new(5, 4096)
    assert is_reference(k)
    assert N.counter_get(k) == 5
    assert N.counter_add(k, 10) == 15
  end

  test "corral_arg_resource rejects other terms, naming the expected type" do
    for bad <- [make_ref(), 1, :counter, "x", {N.counter_new(0, 0)}] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.counter_get/1: argument 1: expected a Counter resource, got: #{inspect(bad)}",
        fn -> N.counter_get(bad) end
    end
  end

  test "a resource of another Corral type is named by its type" do
    other = N.other_new()

    assert_raise_exact ArgumentError,
      "CorralTest.Native.counter_get/1: argument 1: expected a Counter resource, got: an Other resource #{inspect(other)}",
      fn -> N.counter_get(other) end
  end

  test "an object raised away before corral_make_resource is freed without its destructor" do
    gc_all()
    destroyed = N.counters_destroyed()
    live = Corral.live_resources(N)["Counter"]

    for _ <- 1..1000 do
      assert_raise RuntimeError, fn -> N.counter_new_raise(1) end
    end

    assert eventually(fn -> Corral.live_resources(N)["Counter"] <= live end)
    assert N.counters_destroyed() == destroyed
  end

  test "an object the call returns without making a term of is freed without its destructor" do
    gc_all()
    destroyed = N.counters_destroyed()
    live = Corral.live_resources(N)["Counter"]

    for i <- 1..1000, do: assert(N.counter_new_dropped(i) == i)

    assert eventually(fn -> Corral.live_resources(N)["Counter"] <= live end)
    assert N.counters_destroyed() == destroyed
  end

  test "live_resources counts each type of the library, Corral's own included" do
    live = Corral.live_resources(N)
    for type <- ["Counter", "Other", "corral_job", "corral_yield_state"], do: assert(is_integer(live[type]))
    before = live["Other"]
    other = N.other_new()
    assert Corral.live_resources(N)["Other"] == before + 1
    assert is_reference(other)
  end

  test "the destructor runs exactly once per object handed to Erlang" do
    gc_all()
    assert eventually(fn -> Corral.live_resources(N)["Counter"] == 0 end)
    destroyed = N.counters_destroyed()

    tasks =
      for _ <- 1..10 do
        Task.async(fn ->
          for i <- 1..10_000, do: N.counter_new(i, rem(i, 64))
          :done
        end)
      end

    Enum.each(tasks, &Task.await(&1, 60_000))
    assert eventually(fn -> Corral.live_resources(N)["Counter"] == 0 end)
    assert N.counters_destroyed() - destroyed == 100_000
  end

  test "a resource kept by one process survives the creator" do
    parent = self()
    spawn(fn -> send(parent, {:counter, N.counter_new(77, 0)}) end)
    assert_receive {:counter, k}
    gc_all()
    assert N.counter_get(k) == 77
  end

  test "corral_resource_new refuses an impossible size as it refuses a too big one: ArgumentError" do
    assert_raise_exact ArgumentError,
      "CorralTest.Native.counter_new/2: cannot allocate a Counter with 18446744073709551615 extra bytes: more than this VM can ever have (the size overflows)",
      fn -> N.counter_new(0, 18_446_744_073_709_551_615) end
  end

  test "Corral.live_resources/1 refuses what is not a Corral module" do
    for bad <- [String, :no_such_module, "CorralTest.Native"] do
      assert_raise_exact ArgumentError,
        "Corral.live_resources/1: argument 1: expected a module that uses Corral (or Corral.Functions), got: #{inspect(bad)}",
        fn -> Corral.live_resources(bad) end
    end
  end

  test "a size beyond what the VM can ever have raises ArgumentError instead of letting the VM abort" do
    assert_raise ArgumentError,
                 ~r/^CorralTest\.Native\.counter_new\/2: cannot allocate Counter of \d+ bytes: more than this VM can ever have \(\d+ bytes, (the machine's memory|its cgroup's memory.max|its cgroup's memory.limit_in_bytes|its address-space limit \(ulimit -v\))\)$/,
                 fn -> N.counter_new(0, 9_223_372_036_854_775_808) end
  end

  # The limits that are not the machine's, in a VM of their own: an address
  # space limit (ulimit -v) far below the machine's memory. A request above
  # the limit is the caller's mistake; one above what is left of it is out
  # of memory; neither may abort the VM, as the allocation itself would.
  # qemu-user does not apply the limit to the program it runs, so the
  # emulated AArch64 run (scripts/test-arm64.sh) leaves this test out.
  @tag :address_space_limit
  test "an address-space limit (ulimit -v) is a limit too" do
    # Not under the sanitizers: ASan reserves terabytes of address space.
    unless System.get_env("CORRAL_SANITIZE") do
      script = """
      n = CorralTest.Native
      try do
        n.counter_new(0, 8_000_000_000)
      rescue
        e in ArgumentError -> IO.puts("ever: " <> Exception.message(e))
      end
      try do
        n.counter_new(0, 3_000_000_000)
      rescue
        e in RuntimeError -> IO.puts("now: " <> Exception.message(e))
      end
      k = n.counter_new(0, 100_000_000)
      IO.puts("small: \#{n.counter_get(k)}")
      """

      ebin = Path.join(Mix.Project.app_path(), "ebin")
      # The VM reserves about 2.2 GB of address space at start; the limit
      # leaves about 1.8 GB more.
      {out, status} =
        System.cmd("sh", ["-c", ~s(ulimit -v 3906250 && exec timeout -k 5 300 elixir -pa "$0" -e "$1"), ebin, script],
          stderr_to_stdout: true, cd: File.cwd!())

      assert status == 0, out
      assert out =~ ~r/ever: CorralTest.Native.counter_new\/2: cannot allocate Counter of \d+ bytes: more than this VM can ever have \(4000000000 bytes, its address-space limit \(ulimit -v\)\)/
      assert out =~ ~r/now: CorralTest.Native.counter_new\/2: cannot allocate Counter of \d+ bytes: out of memory \(about \d+ bytes are free\)/
      assert out =~ "small: 0"
    end
  end

  # A memory cgroup of its own for a child VM, where the machine lets this
  # process make one (root, with the memory controller mounted: cgroup v2,
  # or v1's memory hierarchy); skipped, and reported so, where it does not.
  @tag skip: if(CorralTest.Case.memory_cgroup() && !System.get_env("CORRAL_SANITIZE"), do: false, else: "no memory cgroup can be made here")
  test "a cgroup's memory limit is a limit too" do
    {root, file, shown} = CorralTest.Case.memory_cgroup()
    group = Path.join(root, "corral_test_#{System.unique_integer([:positive])}")
    File.mkdir!(group)

    try do
      File.write!(Path.join(group, file), "1500000000")

      script = """
      n = CorralTest.Native
      try do
        n.counter_new(0, 2_000_000_000)
      rescue
        e in ArgumentError -> IO.puts("ever: " <> Exception.message(e))
      end
      k = n.counter_new(0, 100_000_000)
      IO.puts("small: \#{n.counter_get(k)}")
      """

      ebin = Path.join(Mix.Project.app_path(), "ebin")
      procs = Path.join(group, "cgroup.procs")

      {out, status} =
        System.cmd("sh", ["-c", ~s(echo $$ > "$2" && exec elixir -pa "$0" -e "$1"), ebin, script, procs],
          stderr_to_stdout: true, cd: File.cwd!())

      assert status == 0, out
      assert out =~ ~r/ever: CorralTest.Native.counter_new\/2: cannot allocate Counter of \d+ bytes: more than this VM can ever have \(\d+ bytes, its cgroup's #{Regex.escape(shown)}\)/
      assert out =~ "small: 0"
    after
      File.rmdir(group)
    end
  end

  describe "locks" do
    test "a raise with the write lock held releases it" do
      k = N.counter_new(1, 0)

      for _ <- 1..100 do
        assert_raise ArgumentError, fn -> N.counter_add(k, 0) end
      end

      # Would deadlock if the write lock had been left held.
      assert N.counter_add(k, 1) == 2
      assert N.counter_get(k) == 2
    end

    test "a raise with a mutex held releases it; corral_run_now unlocks early" do
      k = N.counter_new(1, 0)
      assert_raise ArgumentError, fn -> N.counter_add_mutex(k, 0) end
      assert N.counter_add_mutex(k, 5) == 6
      assert N.counter_add_mutex(k, 5) == 11
    end

    test "several locks taken before a raise are all released" do
      a = N.counter_new(1, 0)
      b = N.counter_new(2, 0)
      assert_raise RuntimeError, fn -> N.counter_lock_raise(a, b) end
      assert_raise RuntimeError, fn -> N.counter_lock_raise(a, a) end
      assert N.counter_add(a, 1) == 2
      assert N.counter_add_mutex(a, 1) == 3
      assert N.counter_add(b, 1) == 3
    end

    test "200 processes and 20 pool threads add under the locks; totals are exact" do
      k = N.counter_new(0, 0)

      jobs = for _ <- 1..20, do: N.counter_add_thread_async(k, 5000)

      1..200
      |> Enum.map(fn _ ->
        Task.async(fn ->
          for _ <- 1..500 do
            N.counter_add(k, 1)
            N.counter_get(k)
          end
        end)
      end)
      |> Enum.each(&Task.await(&1, 60_000))

      for job <- jobs, do: assert(Corral.Job.await(N, job, 60_000) == :ok)
      assert N.counter_get(k) == 200 * 500 + 20 * 5000
    end

    test "50 processes add under the write lock or the mutex and read under the read lock" do
      by_rwlock = N.counter_new(0, 0)
      by_mutex = N.counter_new(0, 0)

      1..50
      |> Enum.map(fn _ ->
        Task.async(fn ->
          for _ <- 1..2000 do
            N.counter_add(by_rwlock, 1)
            N.counter_add_mutex(by_mutex, 1)
            N.counter_get(by_rwlock)
          end
        end)
      end)
      |> Enum.each(&Task.await(&1, 60_000))

      assert N.counter_get(by_rwlock) == 100_000
      assert N.counter_get(by_mutex) == 100_000
    end
  end
end
