"""The PyTorch side shared by the training benchmarks (bench/train.py on the CPU, bench/gpu.py on a GPU):
each zoo architecture's PyTorch twin (the reference definitions of tests/fixtures/make_*.py, imported on
first use: make_vggface2 needs torchvision), insightface's ArcFace head and egcode's sgd_bn optimiser,
the same as bench_train/bench_gpu run in facekit. Import it after setting the thread environment."""
import math, os, sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))


def vgg():
    import make_vggface2
    return make_vggface2


def inc():
    import make_inception_mobilefacenet
    return make_inception_mobilefacenet


def ir():
    import make_ir
    return make_ir


TORCH = {
    "resnet50_vggface2": lambda: vgg().VGGFace2ResNet(se=False),
    "senet50_vggface2": lambda: vgg().VGGFace2ResNet(se=True),
    "resnet50_torchvision": lambda: vgg().torchvision_resnet50(),
    "inception_resnet_v1": lambda: inc().InceptionResnetV1(),
    "ir_50": lambda: ir().Backbone(112, 50),
    "ir_se_50": lambda: ir().Backbone(112, 50, "ir_se"),
    "ir_101": lambda: ir().Backbone(112, 100),
    "iresnet18": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet18"]),
    "iresnet34": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet34"]),
    "iresnet50": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet50"]),
    "iresnet100": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet100"]),
    "mobilefacenet": lambda: inc().MobileFacenet(),
}


class ArcFace(torch.nn.Module):
    """insightface arcface_torch ArcFace with its weight (layers/heads.h ArcFace, variant "insightface")."""

    def __init__(self, in_features, num_classes, s=64.0, m=0.5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.normal(0, 0.01, (num_classes, in_features)))
        self.s, self.cos_m, self.sin_m = s, math.cos(m), math.sin(m)
        self.th, self.mm = math.cos(math.pi - m), math.sin(math.pi - m) * m

    def forward(self, x, labels):
        logits = F.linear(F.normalize(x), F.normalize(self.weight))
        index = torch.where(labels != -1)[0]
        target = logits[index, labels[index].view(-1)]
        sin_theta = torch.sqrt(1.0 - torch.pow(target, 2))
        phi = target * self.cos_m - sin_theta * self.sin_m
        phi = torch.where(target > self.th, phi, target - self.mm)
        logits[index, labels[index].view(-1)] = phi  # in place, as insightface
        return logits * self.s


def sgd_bn(model, head):
    """egcode's sgd_bn: [non-BN parameters + head] with weight decay 5e-4, [BN parameters] without."""
    bn = {id(p) for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
          for p in m.parameters()}
    decay = [p for p in model.parameters() if id(p) not in bn] + list(head.parameters())
    no_decay = [p for p in model.parameters() if id(p) in bn]
    return torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                           lr=0.1, momentum=0.9)
