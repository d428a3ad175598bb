defmodule CorralTest.AllocFailureTest do
  # corral_fail_allocations_after: every allocation Corral makes for a call
  # can fail; each failure raises out of memory and releases what the call
  # held (cleanups, scratch memory, resources, environments).
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  @oom ~r/^CorralTest\.Native\.\w+\/\d: out of memory allocating \d+ bytes$/

  setup do
    on_exit(fn -> N.fail_allocations_after(0) end)
  end

  test "sweeping the failing allocation over a call that allocates in every way" do
    gc_all()
    assert eventually(fn -> Corral.live_resources(N)["Counter"] == 0 end)
    memory = memory()

    for _round <- 1..50 do
      outcomes =
        for n <- 1..12 do
          cleanups = N.cleanups_run()
          N.fail_allocations_after(n)

          outcome =
            try do
              {counter, "bytes"} = N.alloc_everything()
              N.fail_allocations_after(0)
              assert N.counter_get(counter) == 7
              :ok
            rescue
              e in RuntimeError ->
                N.fail_allocations_after(0)
                assert Exception.message(e) =~ @oom
                :raised
            end

          # The 8 deferred cleanups ran, raised or not; when the spill of
          # the cleanup stack (the first allocation) fails, the 7th runs at
          # once and the 8th is never registered.
          assert N.cleanups_run() - cleanups == if(n == 1, do: 7, else: 8)
          outcome
        end

      # The call makes 8 allocations: each fails in turn, then it goes through.
      assert outcomes == List.duplicate(:raised, 8) ++ List.duplicate(:ok, 4)
    end

    gc_all()
    assert eventually(fn -> Corral.live_resources(N)["Counter"] == 0 end)
    assert_memory_back(memory, 5_000_000)
  end

  test "sweeping the failing allocation over the steps of a yielding NIF" do
    gc_all()
    assert eventually(fn -> Map.get(Corral.live_resources(N), "corral_yield_state", 0) == 0 end)
    memory = memory()

    for _round <- 1..20 do
      freed = N.alloc_steps_freed()

      outcomes =
        for n <- 1..8 do
          N.fail_allocations_after(n)

          outcome =
            try do
              3 = N.alloc_steps(3)
              N.fail_allocations_after(0)
              :ok
            rescue
              e in RuntimeError ->
                N.fail_allocations_after(0)
                assert Exception.message(e) =~ @oom
                :raised
            end

          outcome
        end

      # The state, then a scratch chunk in each of the 3 steps: each fails
      # in turn, then the work goes through.
      assert outcomes == List.duplicate(:raised, 4) ++ List.duplicate(:ok, 4)

      # Each state is freed once (when its resource is collected), however
      # the work ended; the call whose state could not be allocated had none.
      gc_all()
      assert eventually(fn -> N.alloc_steps_freed() - freed >= 7 end)
      gc_all()
      assert N.alloc_steps_freed() - freed == 7
    end

    gc_all()
    assert eventually(fn -> Map.get(Corral.live_resources(N), "corral_yield_state", 0) == 0 end)
    assert_memory_back(memory, 5_000_000)
  end

  test "sweeping the failing allocation over the decoding of a structure with arrays and strings" do
    alias CorralTest.Geo.{Point, Polygon}
    t = CorralTest.Terms
    on_exit(fn -> t.fail_allocations_after(0) end)

    # Big enough for the decoded points to need scratch chunks of their own.
    polygon = %Polygon{name: String.duplicate("p", 5000), color: :green, width: 2, closed: true,
                       points: for(i <- 1..20_000, do: %Point{x: i * 1.0, y: 0.5}),
                       weights: Enum.to_list(1..5000), origin: {0.5, -1.0}}

    memory = memory()

    outcomes =
      for n <- 1..10 do
        t.fail_allocations_after(n)

        try do
          20_000 = t.polygon_points(polygon)
          t.fail_allocations_after(0)
          :ok
        rescue
          e in RuntimeError ->
            t.fail_allocations_after(0)
            # The arrays' memory names the field being decoded.
            assert Exception.message(e) =~
                     ~r/^CorralTest\.Terms\.polygon_points\/1: (argument 1, field :\w+: )?out of memory allocating \d+ bytes$/
            {:raised, Exception.message(e)}
        end
      end

    # Every allocation the decoding makes fails in turn (at least two:
    # the points and the weights), then it goes through.
    raised = Enum.count(outcomes, &match?({:raised, _}, &1))
    assert Enum.any?(outcomes, &match?({:raised, "CorralTest.Terms.polygon_points/1: argument 1, field :points: " <> _}, &1))
    assert raised >= 2 and raised < 10
    assert Enum.take(outcomes, raised) |> Enum.all?(&match?({:raised, _}, &1))
    assert Enum.drop(outcomes, raised) == List.duplicate(:ok, 10 - raised)

    gc_all()
    assert_memory_back(memory, 5_000_000)
  end

  test "sweeping the failing allocation over an int64 array's growing block" do
    t = CorralTest.Terms
    on_exit(fn -> t.fail_allocations_after(0) end)
    list = Enum.to_list(1..100_000)
    memory = memory()

    outcomes =
      for n <- 1..12 do
        t.fail_allocations_after(n)

        try do
          ^list = t.array(:i64, list)
          t.fail_allocations_after(0)
          :ok
        rescue
          e in RuntimeError ->
            t.fail_allocations_after(0)
            {:raised, Exception.message(e)}
        end
      end

    # The block (32 elements) is taken, then grows to 256, 2,048, 16,384
    # and 131,072 elements on the way to 100,000 (the first growth fits in
    # the call's first chunk and takes no allocation), then the result's
    # terms take one more: each allocation for the block that fails names
    # the argument, the others are the result's.
    raised = Enum.count(outcomes, &match?({:raised, _}, &1))
    assert raised >= 5 and raised < 12
    assert Enum.take(outcomes, raised) |> Enum.all?(&match?({:raised, _}, &1))
    assert Enum.drop(outcomes, raised) == List.duplicate(:ok, 12 - raised)
    growths = for {:raised, "CorralTest.Terms.array/2: argument 2: out of memory allocating " <> _} <- outcomes, do: 1
    assert length(growths) >= 4

    gc_all()
    assert_memory_back(memory, 5_000_000)
  end

  test "a thread job whose environment cannot be allocated raises and leaves no job behind" do
    gc_all()
    assert eventually(fn -> Map.get(Corral.live_resources(N), "corral_job", 0) == 0 end)

    for n <- [1, 2] do
      N.fail_allocations_after(n)
      error = assert_raise RuntimeError, fn -> N.sleep_thread(1) end
      assert Exception.message(error) =~ ~r/^CorralTest\.Native\.sleep_thread\/1: out of memory allocating \d+ bytes$/
    end

    N.fail_allocations_after(0)
    assert N.sleep_thread(1) == 1
    gc_all()
    assert eventually(fn -> Map.get(Corral.live_resources(N), "corral_job", 0) == 0 end)
  end
  test "a list parameter whose guessed block fails converts from a small block instead" do
    # sum_i64's list parameter keeps the length of its last call; the next
    # call's first allocation is a block of that size, a guess. When that
    # fails the call goes on (without the guess, that first allocation is
    # its small first block, whose failure raises).
    list = Enum.to_list(1..100_000)
    sum = div(100_000 * 100_001, 2)
    assert CorralTest.Typed.sum_i64(list) == sum

    try do
      CorralTest.Typed.fail_allocations_after(1)
      assert CorralTest.Typed.sum_i64(list) == sum
    after
      CorralTest.Typed.fail_allocations_after(0)
    end
  end
end
