%% corral.hrl: include it in an Erlang module whose NIF library uses Corral.
%% Every Corral library also exports two built-in NIFs, and the VM refuses
%% to load a library whose functions the module does not define:
%%   '__corral_live__'/0   live objects per resource type (a map)
%%   '__corral_cancel__'/1 cancels a thread job
-export(['__corral_live__'/0, '__corral_cancel__'/1]).

'__corral_live__'() -> erlang:nif_error(not_loaded).
'__corral_cancel__'(_Job) -> erlang:nif_error(not_loaded).
