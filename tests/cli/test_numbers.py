import math

import numpy as np

from posekit.cli.numbers import fixed


def test_fixed_decimals_and_missing_values():
    assert fixed(3.14159) == "3.142"
    assert fixed(2, 2) == "2.00"
    assert fixed(np.float32(0.5), 1) == "0.5"
    assert fixed(None) == "n/a"
    assert fixed(math.nan) == "n/a"
    assert fixed("x") == "n/a"
    assert fixed(True) == "n/a"
