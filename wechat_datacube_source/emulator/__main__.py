"""`python -m wechat_datacube_source.emulator`: the same as `wechat-datacube emulator`."""

from ..cli import emulator

if __name__ == "__main__":
    emulator(prog_name="python -m wechat_datacube_source.emulator")
